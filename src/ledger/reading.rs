//! A register's words as the integration shows them: the codec's value, with
//! what the ledger knows about real systems applied. A service's "not
//! available" sentinel, and a reading at the type's limit of a register whose
//! type cannot hold the values real systems publish, become "not available".

use super::Register;
use crate::codec::{self, CodecError, Value};

/// Decodes a register's words, turning the ledger's sentinels and a wrapped
/// or saturated reading of an overflowing register into `NotAvailable`.
pub fn decode_reading(register: &Register, words: &[u16]) -> Result<Value, CodecError> {
    let value = codec::decode(register.register_type, register.scale, words)?;
    if matches!(value, Value::NotAvailable | Value::Text(_)) {
        return Ok(value);
    }
    if register.overflow.is_some() && at_type_limit(register, words)? {
        return Ok(Value::NotAvailable);
    }
    if is_sentinel(register, &value) {
        return Ok(Value::NotAvailable);
    }
    Ok(value)
}

/// Whether the raw integer sits at the end of its type's range: where the GX
/// (v1.0.95 on) clamps a value too large for the type (the largest value below
/// the "not available" sentinel), or, for a signed type, the smallest value.
/// The low end of an unsigned type is 0, a real reading too, so it stays.
fn at_type_limit(register: &Register, words: &[u16]) -> Result<bool, CodecError> {
    let Some(raw) = codec::decode_raw(register.register_type, words)? else {
        return Ok(false);
    };
    let Some((min, max)) = register.register_type.raw_bounds() else {
        return Ok(false);
    };
    Ok(raw == max || (register.register_type.is_signed() && raw == min))
}

/// Whether a value is one of the register's sentinels (within half a raw step).
fn is_sentinel(register: &Register, value: &Value) -> bool {
    let number = match value {
        Value::Int(int) => *int as f64,
        Value::Float(float) => *float,
        Value::Text(_) | Value::NotAvailable => return false,
    };
    let half_step = 0.5 / codec::effective_scale(register.scale).abs();
    register
        .sentinels
        .iter()
        .any(|sentinel| (number - sentinel.value).abs() < half_step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::RegisterType;
    use crate::ledger::{embedded, Sentinel};

    fn register(service: &str, key: &str) -> Register {
        let ledger = embedded().unwrap_or_else(|err| panic!("ledger: {err}"));
        ledger
            .service(service)
            .and_then(|s| s.register(key))
            .cloned()
            .unwrap_or_else(|| panic!("no {service}.{key}"))
    }

    #[test]
    fn a_saturated_overflowing_register_is_not_available() {
        let mut drawn = register("battery", "history_total_ah_drawn");
        drawn.overflow = Some("test".into());
        assert_eq!(decode_reading(&drawn, &[65534]), Ok(Value::NotAvailable));
        assert_eq!(decode_reading(&drawn, &[65533]), Ok(Value::Float(-6553.3)));
        assert_eq!(decode_reading(&drawn, &[0]), Ok(Value::Float(-0.0)));
        drawn.overflow = None;
        assert_eq!(decode_reading(&drawn, &[65534]), Ok(Value::Float(-6553.4)));
    }

    #[test]
    fn a_signed_overflowing_register_is_limited_at_both_ends() {
        let mut reg = register("vebus", "dc_0_temperature");
        assert_eq!(reg.register_type, RegisterType::I16);
        reg.overflow = Some("test".into());
        assert_eq!(decode_reading(&reg, &[0x8000]), Ok(Value::NotAvailable));
        assert_eq!(decode_reading(&reg, &[0x7FFE]), Ok(Value::NotAvailable));
        assert_eq!(decode_reading(&reg, &[0x8001]), Ok(Value::Float(-3276.7)));
    }

    #[test]
    fn a_sentinel_is_not_available_within_half_a_step() {
        let mut reg = register("vebus", "dc_0_temperature");
        reg.sentinels = vec![Sentinel {
            value: -273.0,
            means: "no sensor".into(),
        }];
        let words = |raw: i16| vec![raw as u16];
        assert_eq!(decode_reading(&reg, &words(-2730)), Ok(Value::NotAvailable));
        assert_eq!(
            decode_reading(&reg, &words(-2729)),
            Ok(Value::Float(-272.9))
        );
        assert_eq!(decode_reading(&reg, &words(215)), Ok(Value::Float(21.5)));
    }

    #[test]
    fn text_and_errors_pass_through() {
        let name = register("battery", "custom_name");
        let words = codec::encode_text(name.register_type, "Lynx").unwrap_or_default();
        assert_eq!(
            decode_reading(&name, &words),
            Ok(Value::Text("Lynx".into()))
        );
        let reg = register("vebus", "dc_0_temperature");
        assert!(decode_reading(&reg, &[1, 2]).is_err());
    }
}
