"""Home Assistant tests of the victron_gx_modbus integration."""
