//! Property tests of the codec: round trips and type boundaries.

use proptest::prelude::*;
use victron_gx_modbus::codec::{
    decode, decode_raw, encode, encode_raw, encode_text, value_bounds, RegisterType, Value,
};

const NUMERIC: [RegisterType; 5] = [
    RegisterType::U16,
    RegisterType::I16,
    RegisterType::U32,
    RegisterType::I32,
    RegisterType::U64,
];
const SCALES: [f64; 9] = [
    1.0,
    10.0,
    100.0,
    1000.0,
    -10.0,
    -1.0,
    0.1,
    0.01,
    10_000_000.0,
];

fn numeric_type() -> impl Strategy<Value = RegisterType> {
    prop::sample::select(NUMERIC.to_vec())
}

proptest! {
    #[test]
    fn raw_round_trip(register_type in numeric_type(), seed in any::<i128>()) {
        let (min, max) = register_type.raw_bounds().unwrap_or((0, 0));
        let raw = min + seed.rem_euclid(max - min + 1);
        let words = encode_raw(register_type, raw).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(words.len(), usize::from(register_type.words()));
        prop_assert_eq!(decode_raw(register_type, &words), Ok(Some(raw)));
    }

    #[test]
    fn scaled_round_trip(register_type in numeric_type(), scale in prop::sample::select(SCALES.to_vec()), seed in any::<i64>()) {
        let (min, max) = register_type.raw_bounds().unwrap_or((0, 0));
        // Stay well inside f64's exact integers so that value -> raw is lossless
        // whatever the scale (real registers are far smaller).
        let span = (max - min).min(1 << 40);
        let raw = min.max(-(1 << 39)) + i128::from(seed).rem_euclid(span + 1);
        let words = encode_raw(register_type, raw).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let value = match decode(register_type, scale, &words) {
            Ok(Value::Int(v)) => v as f64,
            Ok(Value::Float(v)) => v,
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        prop_assert_eq!(encode(register_type, scale, value), Ok(words));
    }

    #[test]
    fn encode_never_accepts_values_outside_the_type(register_type in numeric_type(), scale in prop::sample::select(SCALES.to_vec()), value in any::<f64>()) {
        let result = encode(register_type, scale, value);
        let (low, high) = value_bounds(register_type, scale).unwrap_or((0.0, 0.0));
        let half_step = 0.5 / scale.abs();
        if !value.is_finite() || value < low - half_step || value > high + half_step {
            prop_assert!(result.is_err());
        }
        if let Ok(words) = result {
            let raw = decode_raw(register_type, &words);
            prop_assert!(matches!(raw, Ok(Some(_))), "an accepted value never encodes the sentinel");
        }
    }

    #[test]
    fn text_round_trip(words in 1u16..=16, text in "[ -~\u{a0}-\u{ff}]{0,32}") {
        let register_type = RegisterType::Str(words);
        match encode_text(register_type, &text) {
            Ok(encoded) => prop_assert_eq!(decode(register_type, 1.0, &encoded), Ok(Value::Text(text))),
            Err(_) => prop_assert!(text.chars().count() > usize::from(words) * 2),
        }
    }
}

#[test]
fn boundaries_of_each_type() {
    assert_eq!(encode(RegisterType::U16, 1.0, 65534.0), Ok(vec![0xFFFE]));
    assert!(encode(RegisterType::U16, 1.0, 65535.0).is_err());
    assert_eq!(encode(RegisterType::I16, 1.0, -32768.0), Ok(vec![0x8000]));
    assert_eq!(encode(RegisterType::I16, 1.0, 32766.0), Ok(vec![0x7FFE]));
    assert!(encode(RegisterType::I16, 1.0, 32767.0).is_err());
    assert!(encode(RegisterType::I16, 1.0, -32769.0).is_err());
    assert_eq!(
        encode(RegisterType::I32, 1.0, -2_147_483_648.0),
        Ok(vec![0x8000, 0x0000])
    );
    assert_eq!(
        encode(RegisterType::U32, 1.0, 4_294_967_294.0),
        Ok(vec![0xFFFF, 0xFFFE])
    );
    assert_eq!(encode(RegisterType::I16, 10.0, -0.04), Ok(vec![0]));
    assert_eq!(encode(RegisterType::I16, 10.0, -0.06), Ok(vec![0xFFFF]));
}
