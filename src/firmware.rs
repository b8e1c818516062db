//! Device firmware versions as the GX shows them (its device pages):
//! VE.Direct, VE.Can and most devices publish the version as hex digit
//! pairs (0x0163 = v1.63, 0x0109FF = v1.09, 0x011709 = v1.17-beta-09);
//! VE.Bus devices publish their firmware number, shown in hex as it is
//! (0x502 = v502).

/// How a device's firmware number is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirmwareStyle {
    /// A VE.Bus device (service `vebus`): the number in hex digits.
    VeBus,
    /// Any other device: hex digit pairs, a third pair a beta build.
    Device,
}

impl FirmwareStyle {
    /// The style of a service type's firmware.
    pub fn of(service: &str) -> Self {
        if service == "vebus" {
            Self::VeBus
        } else {
            Self::Device
        }
    }
}

/// The value a device publishes when it has no firmware version.
const NOT_AVAILABLE: u64 = 0xFF_FFFF;

/// A firmware number as the GX shows it; `None` for 0 and for the
/// not-available value 0xFFFFFF.
pub fn firmware_text(raw: u64, style: FirmwareStyle) -> Option<String> {
    if raw == 0 || raw == NOT_AVAILABLE {
        return None;
    }
    if style == FirmwareStyle::VeBus {
        return Some(format!("v{raw:X}"));
    }
    let mut digits = format!("{raw:X}");
    if digits.len() < 3 {
        digits = format!("{digits:0>3}");
    }
    // Pairs of digits from the right; the first group has one or two.
    let split = digits.len() % 2;
    let mut groups: Vec<&str> = Vec::new();
    if split == 1 {
        groups.push(&digits[..1]);
    }
    let mut at = split;
    while at < digits.len() {
        groups.push(&digits[at..at + 2]);
        at += 2;
    }
    if groups.len() < 3 {
        return Some(format!("v{}", groups.join(".")));
    }
    // A last pair 00 or FF is a release; any other is a beta build.
    let (last, release) = groups.split_last()?;
    let release = release.join(".");
    Some(if matches!(*last, "00" | "FF") {
        format!("v{release}")
    } else {
        format!("v{release}-beta-{last}")
    })
}

/// A firmware version as the GX's MQTT publishes it: a number (formatted
/// as [`firmware_text`]), a text the driver already formatted (kept), or a
/// decimal number some drivers publish (2.5 -> v2.5).
pub fn firmware_from_json(value: &serde_json::Value, style: FirmwareStyle) -> Option<String> {
    match value {
        serde_json::Value::Number(number) => match number.as_u64() {
            Some(raw) => firmware_text(raw, style),
            None => number
                .as_f64()
                .filter(|v| v.is_finite() && *v > 0.0)
                .map(|v| format!("v{v}")),
        },
        serde_json::Value::String(text) => {
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn device(raw: u64) -> Option<String> {
        firmware_text(raw, FirmwareStyle::Device)
    }

    #[test]
    fn device_versions_read_as_the_gx_shows_them() {
        // VE.Direct.
        assert_eq!(device(776).as_deref(), Some("v3.08"));
        assert_eq!(device(297).as_deref(), Some("v1.29"));
        assert_eq!(device(0x0163).as_deref(), Some("v1.63"));
        // VE.Can: a third pair FF or 00 is a release, another a beta build.
        assert_eq!(device(68_095).as_deref(), Some("v1.09"));
        assert_eq!(device(0x0163FF).as_deref(), Some("v1.63"));
        assert_eq!(device(0x0A0000).as_deref(), Some("vA.00"));
        assert_eq!(device(71_433).as_deref(), Some("v1.17-beta-09"));
        // Short numbers are padded to three digits.
        assert_eq!(device(0x0A).as_deref(), Some("v0.0A"));
        assert_eq!(device(0xA0).as_deref(), Some("v0.A0"));
        assert_eq!(device(0xA000).as_deref(), Some("vA0.00"));
        // Nothing published.
        assert_eq!(device(0), None);
        assert_eq!(device(0xFF_FFFF), None);
    }

    #[test]
    fn vebus_versions_are_their_hex_digits() {
        assert_eq!(
            firmware_text(1282, FirmwareStyle::VeBus).as_deref(),
            Some("v502")
        );
        assert_eq!(
            firmware_text(1058, FirmwareStyle::VeBus).as_deref(),
            Some("v422")
        );
        assert_eq!(FirmwareStyle::of("vebus"), FirmwareStyle::VeBus);
        assert_eq!(FirmwareStyle::of("solarcharger"), FirmwareStyle::Device);
    }

    #[test]
    fn mqtt_values_of_every_shape() {
        let style = FirmwareStyle::Device;
        assert_eq!(
            firmware_from_json(&json!(353), style).as_deref(),
            Some("v1.61")
        );
        assert_eq!(
            firmware_from_json(&json!("v3.0.2V"), style).as_deref(),
            Some("v3.0.2V")
        );
        assert_eq!(
            firmware_from_json(&json!(2.5), style).as_deref(),
            Some("v2.5")
        );
        assert_eq!(firmware_from_json(&json!(""), style), None);
        assert_eq!(firmware_from_json(&json!(null), style), None);
        assert_eq!(firmware_from_json(&json!(-1), style), None);
        assert_eq!(firmware_from_json(&json!([1]), style), None);
    }
}
