//! Raw 16-bit Modbus words to typed values and back, as the GX encodes them.
//!
//! Words are big-endian, multi-word numbers high word first, strings Latin-1
//! with two characters per word (first character in the high byte), NUL
//! padded. `raw = round(value x scale)` and `value = raw / scale`; a negative
//! scale flips the sign. All-ones words (0xFFFF, 0x7FFF for signed types)
//! mean "not available": the GX clamps real values below them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The data type of a register as the official list names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegisterType {
    /// Unsigned 16-bit integer.
    U16,
    /// Signed 16-bit integer, two's complement.
    I16,
    /// Unsigned 32-bit integer, high word first.
    U32,
    /// Signed 32-bit integer, high word first.
    I32,
    /// Unsigned 64-bit integer, highest word first.
    U64,
    /// Latin-1 text spanning this many registers (two characters each).
    Str(u16),
}

impl RegisterType {
    /// How many 16-bit registers a value of this type spans.
    pub fn words(self) -> u16 {
        match self {
            Self::U16 | Self::I16 => 1,
            Self::U32 | Self::I32 => 2,
            Self::U64 => 4,
            Self::Str(words) => words,
        }
    }

    /// Whether values are two's complement signed integers.
    pub fn is_signed(self) -> bool {
        matches!(self, Self::I16 | Self::I32)
    }

    /// Smallest and largest raw integer a real value may take (the
    /// "not available" sentinel excluded); `None` for strings.
    pub fn raw_bounds(self) -> Option<(i128, i128)> {
        match self {
            Self::U16 => Some((0, i128::from(u16::MAX) - 1)),
            Self::I16 => Some((i128::from(i16::MIN), i128::from(i16::MAX) - 1)),
            Self::U32 => Some((0, i128::from(u32::MAX) - 1)),
            Self::I32 => Some((i128::from(i32::MIN), i128::from(i32::MAX) - 1)),
            Self::U64 => Some((0, i128::from(u64::MAX) - 1)),
            Self::Str(_) => None,
        }
    }
}

impl fmt::Display for RegisterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::U16 => f.write_str("uint16"),
            Self::I16 => f.write_str("int16"),
            Self::U32 => f.write_str("uint32"),
            Self::I32 => f.write_str("int32"),
            Self::U64 => f.write_str("uint64"),
            Self::Str(words) => write!(f, "string[{words}]"),
        }
    }
}

impl FromStr for RegisterType {
    type Err = CodecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lowered = text.trim().to_ascii_lowercase();
        let parsed = match lowered.as_str() {
            "uint16" => Some(Self::U16),
            "int16" => Some(Self::I16),
            "uint32" => Some(Self::U32),
            "int32" => Some(Self::I32),
            "uint64" => Some(Self::U64),
            other => other
                .strip_prefix("string[")
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|n| n.parse::<u16>().ok())
                .filter(|&n| (1..=125).contains(&n))
                .map(Self::Str),
        };
        parsed.ok_or_else(|| CodecError::UnknownType(text.to_owned()))
    }
}

impl Serialize for RegisterType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// In JSON a register type is its text (`"int16"`, `"string[8]"`).
#[cfg(test)]
impl schemars::JsonSchema for RegisterType {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RegisterType".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

impl<'de> Deserialize<'de> for RegisterType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A decoded register value.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "RegisterValue"))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// An integer (scale 1, or a raw enum code).
    Int(i64),
    /// A scaled number.
    Float(f64),
    /// Text of a string register, NUL padding removed.
    Text(String),
    /// The register holds the "not available" sentinel.
    NotAvailable,
}

/// Why a value could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodecError {
    /// The type name is none the GX uses.
    #[error("unknown register type {0:?}")]
    UnknownType(String),
    /// The number of words does not match the type.
    #[error("{register_type} needs {expected} words, got {got}")]
    WrongLength {
        /// The register's type.
        register_type: RegisterType,
        /// Words the type spans.
        expected: u16,
        /// Words supplied.
        got: usize,
    },
    /// NaN or infinity cannot be written.
    #[error("{0} is not a finite number")]
    NotFinite(f64),
    /// The scaled value does not fit the register (sentinel excluded).
    #[error("{value} is outside {min}..={max} for a {register_type} with scale {scale}")]
    OutOfRange {
        /// The value asked for.
        value: f64,
        /// Smallest writable value.
        min: f64,
        /// Largest writable value.
        max: f64,
        /// The register's type.
        register_type: RegisterType,
        /// The register's scale factor.
        scale: f64,
    },
    /// A number was given for a string register or the other way round.
    #[error("a {0} register cannot hold this kind of value")]
    WrongKind(RegisterType),
    /// Text longer than the register or with non-Latin-1 characters.
    #[error("text does not fit a {register_type}: {reason}")]
    BadText {
        /// The register's type.
        register_type: RegisterType,
        /// What is wrong with the text.
        reason: String,
    },
}

/// The scale the GX applies: a blank or zero scale means 1.
pub fn effective_scale(scale: f64) -> f64 {
    if scale == 0.0 || !scale.is_finite() {
        1.0
    } else {
        scale
    }
}

fn check_len(register_type: RegisterType, words: &[u16]) -> Result<(), CodecError> {
    if words.len() == usize::from(register_type.words()) {
        Ok(())
    } else {
        Err(CodecError::WrongLength {
            register_type,
            expected: register_type.words(),
            got: words.len(),
        })
    }
}

/// Joins big-endian words (high word first) into one unsigned integer.
fn join_words(words: &[u16]) -> u64 {
    words
        .iter()
        .fold(0u64, |acc, &word| (acc << 16) | u64::from(word))
}

/// Reads the raw integer of a numeric register; `None` for the sentinel.
pub fn decode_raw(register_type: RegisterType, words: &[u16]) -> Result<Option<i128>, CodecError> {
    check_len(register_type, words)?;
    let bits = join_words(words);
    let raw = match register_type {
        RegisterType::U16 | RegisterType::U32 | RegisterType::U64 => i128::from(bits),
        // Truncation to the type's width is the two's complement reading.
        RegisterType::I16 => i128::from(bits as u16 as i16),
        RegisterType::I32 => i128::from(bits as u32 as i32),
        RegisterType::Str(_) => return Err(CodecError::WrongKind(register_type)),
    };
    let sentinel = match register_type.raw_bounds() {
        Some((_, max)) => max + 1,
        None => return Err(CodecError::WrongKind(register_type)),
    };
    Ok((raw != sentinel).then_some(raw))
}

/// Reads Latin-1 text, dropping NUL padding (and a value of all 0xFFFF words).
pub fn decode_text(
    register_type: RegisterType,
    words: &[u16],
) -> Result<Option<String>, CodecError> {
    check_len(register_type, words)?;
    if !matches!(register_type, RegisterType::Str(_)) {
        return Err(CodecError::WrongKind(register_type));
    }
    if words.iter().all(|&word| word == u16::MAX) {
        return Ok(None);
    }
    let text: String = words
        .iter()
        .flat_map(|word| word.to_be_bytes())
        .take_while(|&byte| byte != 0)
        .map(char::from)
        .collect();
    Ok(Some(text))
}

/// Decodes a register's words into a value, applying the scale.
pub fn decode(register_type: RegisterType, scale: f64, words: &[u16]) -> Result<Value, CodecError> {
    if let RegisterType::Str(_) = register_type {
        return Ok(decode_text(register_type, words)?.map_or(Value::NotAvailable, Value::Text));
    }
    let Some(raw) = decode_raw(register_type, words)? else {
        return Ok(Value::NotAvailable);
    };
    let scale = effective_scale(scale);
    if scale == 1.0 {
        if let Ok(int) = i64::try_from(raw) {
            return Ok(Value::Int(int));
        }
    }
    Ok(Value::Float(raw as f64 / scale))
}

/// The smallest and largest values a numeric register can be written with.
pub fn value_bounds(register_type: RegisterType, scale: f64) -> Option<(f64, f64)> {
    let (min, max) = register_type.raw_bounds()?;
    let scale = effective_scale(scale);
    let (a, b) = (min as f64 / scale, max as f64 / scale);
    Some((a.min(b), a.max(b)))
}

/// Encodes a raw integer into words, refusing values outside the type.
pub fn encode_raw(register_type: RegisterType, raw: i128) -> Result<Vec<u16>, CodecError> {
    let Some((min, max)) = register_type.raw_bounds() else {
        return Err(CodecError::WrongKind(register_type));
    };
    if raw < min || raw > max {
        return Err(CodecError::OutOfRange {
            value: raw as f64,
            min: min as f64,
            max: max as f64,
            register_type,
            scale: 1.0,
        });
    }
    let words = usize::from(register_type.words());
    // Two's complement: the low bits of the (possibly negative) integer.
    let bits = raw as u64;
    Ok((0..words)
        .rev()
        .map(|index| (bits >> (16 * index)) as u16)
        .collect())
}

/// Encodes a value for writing: `round(value x scale)`, range checked.
pub fn encode(register_type: RegisterType, scale: f64, value: f64) -> Result<Vec<u16>, CodecError> {
    if !value.is_finite() {
        return Err(CodecError::NotFinite(value));
    }
    let scale = effective_scale(scale);
    let Some((min, max)) = register_type.raw_bounds() else {
        return Err(CodecError::WrongKind(register_type));
    };
    let scaled = (value * scale).round();
    if scaled < min as f64 || scaled > max as f64 {
        let (low, high) = value_bounds(register_type, scale).unwrap_or((0.0, 0.0));
        return Err(CodecError::OutOfRange {
            value,
            min: low,
            max: high,
            register_type,
            scale,
        });
    }
    encode_raw(register_type, scaled as i128)
}

/// Encodes text as Latin-1, two characters a word, NUL padded.
pub fn encode_text(register_type: RegisterType, text: &str) -> Result<Vec<u16>, CodecError> {
    let RegisterType::Str(words) = register_type else {
        return Err(CodecError::WrongKind(register_type));
    };
    let capacity = usize::from(words) * 2;
    let mut bytes = Vec::with_capacity(capacity);
    for ch in text.chars() {
        let code = u32::from(ch);
        if code == 0 || code > 0xFF {
            return Err(CodecError::BadText {
                register_type,
                reason: format!("{ch:?} is not a Latin-1 character"),
            });
        }
        bytes.push(code as u8);
    }
    if bytes.len() > capacity {
        return Err(CodecError::BadText {
            register_type,
            reason: format!("{} characters, at most {capacity}", bytes.len()),
        });
    }
    bytes.resize(capacity, 0);
    Ok(bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_signed_16_bit_twos_complement() {
        assert_eq!(
            decode(RegisterType::I16, 1.0, &[0xFFFE]),
            Ok(Value::Int(-2))
        );
        assert_eq!(
            decode(RegisterType::I16, 1.0, &[0x8000]),
            Ok(Value::Int(-32768))
        );
        assert_eq!(
            decode(RegisterType::I16, 10.0, &[0x7FFE]),
            Ok(Value::Float(3276.6))
        );
    }

    #[test]
    fn sentinels_are_not_available() {
        assert_eq!(
            decode(RegisterType::U16, 10.0, &[0xFFFF]),
            Ok(Value::NotAvailable)
        );
        assert_eq!(
            decode(RegisterType::I16, 1.0, &[0x7FFF]),
            Ok(Value::NotAvailable)
        );
        assert_eq!(
            decode(RegisterType::U32, 1.0, &[0xFFFF, 0xFFFF]),
            Ok(Value::NotAvailable)
        );
        assert_eq!(
            decode(RegisterType::I32, 1.0, &[0x7FFF, 0xFFFF]),
            Ok(Value::NotAvailable)
        );
        assert_eq!(
            decode(RegisterType::Str(2), 1.0, &[0xFFFF; 2]),
            Ok(Value::NotAvailable)
        );
    }

    #[test]
    fn negative_scale_flips_the_sign() {
        // Consumed Ah: scale -10, raw 123 means -12.3 Ah.
        assert_eq!(
            decode(RegisterType::U16, -10.0, &[123]),
            Ok(Value::Float(-12.3))
        );
        assert_eq!(encode(RegisterType::U16, -10.0, -12.3), Ok(vec![123]));
        assert!(encode(RegisterType::U16, -10.0, 1.0).is_err());
    }

    #[test]
    fn fractional_scale_and_blank_scale() {
        assert_eq!(
            decode(RegisterType::U16, 0.1, &[25]),
            Ok(Value::Float(250.0))
        );
        assert_eq!(decode(RegisterType::U16, 0.0, &[25]), Ok(Value::Int(25)));
    }

    #[test]
    fn thirty_two_bit_values_are_high_word_first() {
        assert_eq!(
            decode(RegisterType::U32, 1.0, &[0x0001, 0x0002]),
            Ok(Value::Int(65538))
        );
        assert_eq!(
            encode(RegisterType::I32, 1.0, -2.0),
            Ok(vec![0xFFFF, 0xFFFE])
        );
        assert_eq!(
            decode(RegisterType::U64, 1.0, &[0, 0, 0x6745, 0x2301]),
            Ok(Value::Int(0x6745_2301))
        );
    }

    #[test]
    fn strings_are_latin1_nul_padded() {
        let words = encode_text(RegisterType::Str(3), "Hé!").unwrap_or_default();
        assert_eq!(words, vec![0x48E9, 0x2100, 0x0000]);
        assert_eq!(
            decode(RegisterType::Str(3), 1.0, &words),
            Ok(Value::Text("Hé!".into()))
        );
        assert!(encode_text(RegisterType::Str(1), "abc").is_err());
        assert!(encode_text(RegisterType::Str(2), "€").is_err());
    }

    #[test]
    fn encode_refuses_out_of_range_and_non_finite() {
        assert!(matches!(
            encode(RegisterType::U16, 10.0, 6553.5),
            Err(CodecError::OutOfRange { .. })
        ));
        assert_eq!(encode(RegisterType::U16, 10.0, 6553.4), Ok(vec![65534]));
        assert!(encode(RegisterType::U16, 1.0, -1.0).is_err());
        assert!(matches!(
            encode(RegisterType::I16, 1.0, f64::NAN),
            Err(CodecError::NotFinite(_))
        ));
    }

    #[test]
    fn wrong_length_is_an_error() {
        assert!(matches!(
            decode(RegisterType::U32, 1.0, &[1]),
            Err(CodecError::WrongLength {
                expected: 2,
                got: 1,
                ..
            })
        ));
    }

    #[test]
    fn parses_type_names() {
        assert_eq!("String[8]".parse(), Ok(RegisterType::Str(8)));
        assert_eq!("int16".parse(), Ok(RegisterType::I16));
        assert!("string[0]".parse::<RegisterType>().is_err());
        assert!("float".parse::<RegisterType>().is_err());
    }
}
