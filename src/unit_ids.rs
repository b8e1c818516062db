//! The GX's fixed unit ID table: unit IDs that reach a device instance other
//! than their own number (instances above 247, and unit 100 for instance 0).
//!
//! Since Venus 2.60 a unit ID otherwise equals the device instance.

/// (unit ID, device instance) pairs of the GX's table.
pub const UNIT_ID_TABLE: &[(u8, u16)] = &[
    (100, 0), // Workaround for clients that do not support unit ID 0
    (204, 262),
    (205, 263),
    (206, 264),
    (207, 265),
    (208, 266),
    (209, 267),
    (210, 268),
    (211, 269),
    (212, 270),
    (213, 271),
    (214, 272),
    (215, 280),
    (216, 281),
    (217, 282),
    (218, 283),
    (219, 284),
    (220, 285),
    (221, 286),
    (222, 287),
    (223, 277), // Cerbo GX VE.Direct port 3 (ttyS5)
    (224, 278), // Cerbo GX VE.Direct port 2 (ttyS6)
    (225, 512), // CAN-bus BMS
    (226, 279), // Cerbo GX VE.Direct port 1 (ttyS7)
    (227, 276), // Cerbo GX VE.Bus port (ttyS4)
    (228, 275), // EasySolar-II/Multiplus-II GX VE.Bus port (ttyS3)
    (229, 274), // EasySolar-II/Multiplus-II GX VE.Direct port (ttyS2)
    (230, 273), // EasySolar-II/Multiplus-II GX VE.Direct port (ttyS1)
    (231, 295), // VE.Direct via USB
    (232, 294), // VE.Direct via USB
    (233, 293), // VE.Direct via USB
    (234, 296), // VE.Direct via USB
    (235, 292), // VE.Direct via USB
    (236, 291), // VE.Direct via USB
    (237, 290), // VE.Direct via USB
    (238, 289), // VE.Direct via USB
    (239, 288), // VE.Direct via USB (ttyUSB0)
    (242, 261), // Venus GX VE.Bus port (ttyO5)
    (243, 260), // Venus GX VE.Direct 2 port (ttyO4)
    (244, 259),
    (245, 258), // CCGX VE.Direct 2 port, Venus GX VE.Direct 1 port (ttyO2)
    (246, 257), // CCGX VE.Bus port (ttyO1)
    (247, 256), // CCGX VE.Direct 1 port (ttyO0)
];

/// The device instance a unit ID reaches through the table, if it is listed.
pub fn table_instance(unit: u8) -> Option<u16> {
    UNIT_ID_TABLE
        .iter()
        .find(|(listed, _)| *listed == unit)
        .map(|&(_, instance)| instance)
}

/// The unit ID a client uses for a device instance: the instance itself when
/// it fits in 0-247 (0 is also reachable as 100), else its table entry.
pub fn unit_for_instance(instance: u16) -> Option<u8> {
    match u8::try_from(instance) {
        Ok(unit) if unit <= 247 => Some(unit),
        _ => UNIT_ID_TABLE
            .iter()
            .find(|(_, listed)| *listed == instance)
            .map(|&(unit, _)| unit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_gx() {
        assert_eq!(table_instance(100), Some(0));
        assert_eq!(table_instance(227), Some(276));
        assert_eq!(table_instance(225), Some(512));
        assert_eq!(table_instance(5), None);
        assert_eq!(unit_for_instance(276), Some(227));
        assert_eq!(unit_for_instance(30), Some(30));
        assert_eq!(unit_for_instance(300), None);
    }
}
