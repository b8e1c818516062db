"""Importer of Victron's official Modbus TCP register list into register_ledgers/."""
