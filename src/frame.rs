//! Modbus TCP framing (MBAP header + PDU), shared by the simulator and the client.
//!
//! A frame is `transaction id (2) | protocol id (2, always 0) | length (2) |
//! unit id (1) | PDU`, where length counts the unit id and the PDU.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Modbus function codes the GX serves.
pub mod function {
    /// Read holding registers.
    pub const READ_HOLDING: u8 = 3;
    /// Read input registers (same map on the GX).
    pub const READ_INPUT: u8 = 4;
    /// Write a single register.
    pub const WRITE_SINGLE: u8 = 6;
    /// Write multiple registers.
    pub const WRITE_MULTIPLE: u8 = 16;
}

/// Most registers one read may ask for.
pub const MAX_READ_QUANTITY: u16 = 125;
/// Most registers one FC16 write may carry (the GX accepts up to 125).
pub const MAX_WRITE_QUANTITY: u16 = 125;
/// Largest PDU of Modbus TCP (length field of at most 254).
pub const MAX_PDU: usize = 253;

/// One Modbus TCP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Transaction id, echoed by the server.
    pub transaction: u16,
    /// Unit id (the GX maps it to a device instance).
    pub unit: u8,
    /// Function code and data.
    pub pdu: Vec<u8>,
}

impl Frame {
    /// The frame as bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let length = u16::try_from(self.pdu.len() + 1).unwrap_or(u16::MAX);
        let mut bytes = Vec::with_capacity(7 + self.pdu.len());
        bytes.extend_from_slice(&self.transaction.to_be_bytes());
        bytes.extend_from_slice(&0u16.to_be_bytes());
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.push(self.unit);
        bytes.extend_from_slice(&self.pdu);
        bytes
    }
}

/// Bytes of an MBAP header (the unit ID included).
pub const HEADER: usize = 7;

/// Checks a frame header; the frame's whole length on the wire.
fn frame_length(header: &[u8; HEADER]) -> io::Result<usize> {
    let protocol = u16::from_be_bytes([header[2], header[3]]);
    let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
    if protocol != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("protocol id {protocol} is not Modbus"),
        ));
    }
    if !(2..=MAX_PDU + 1).contains(&length) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame length {length} out of range"),
        ));
    }
    Ok(HEADER - 1 + length)
}

/// Splits the first whole frame off bytes received so far: the frame and
/// the bytes it took, `Ok(None)` while it is incomplete. A bad header is an
/// `InvalidData` error, as for [`read_frame`].
pub fn split_frame(bytes: &[u8]) -> io::Result<Option<(Frame, usize)>> {
    let Some(header) = bytes.first_chunk::<HEADER>() else {
        return Ok(None);
    };
    let total = frame_length(header)?;
    let Some(pdu) = bytes.get(HEADER..total) else {
        return Ok(None);
    };
    let frame = Frame {
        transaction: u16::from_be_bytes([header[0], header[1]]),
        unit: header[6],
        pdu: pdu.to_vec(),
    };
    Ok(Some((frame, total)))
}

/// Reads one frame; `Ok(None)` when the peer closed the connection cleanly
/// between frames. A bad header is an `InvalidData` error (the stream cannot
/// be resynchronised, so the caller should drop the connection).
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Option<Frame>> {
    let mut header = [0u8; HEADER];
    match reader.read_exact(&mut header).await {
        Ok(_) => {}
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    }
    let transaction = u16::from_be_bytes([header[0], header[1]]);
    let length = frame_length(&header)? - (HEADER - 1);
    let mut pdu = vec![0u8; length - 1];
    reader.read_exact(&mut pdu).await?;
    Ok(Some(Frame {
        transaction,
        unit: header[6],
        pdu,
    }))
}

/// PDU of a read request (FC3 or FC4).
pub fn read_request(function: u8, start: u16, quantity: u16) -> Vec<u8> {
    let mut pdu = vec![function];
    pdu.extend_from_slice(&start.to_be_bytes());
    pdu.extend_from_slice(&quantity.to_be_bytes());
    pdu
}

/// PDU of an FC6 write of one register.
pub fn write_single_request(address: u16, word: u16) -> Vec<u8> {
    let mut pdu = vec![function::WRITE_SINGLE];
    pdu.extend_from_slice(&address.to_be_bytes());
    pdu.extend_from_slice(&word.to_be_bytes());
    pdu
}

/// PDU of an FC16 write of several registers.
pub fn write_multiple_request(start: u16, words: &[u16]) -> Vec<u8> {
    let quantity = u16::try_from(words.len()).unwrap_or(u16::MAX);
    let mut pdu = vec![function::WRITE_MULTIPLE];
    pdu.extend_from_slice(&start.to_be_bytes());
    pdu.extend_from_slice(&quantity.to_be_bytes());
    pdu.push(u8::try_from(words.len() * 2).unwrap_or(u8::MAX));
    for word in words {
        pdu.extend_from_slice(&word.to_be_bytes());
    }
    pdu
}

/// PDU of an exception reply.
pub fn exception_reply(function: u8, code: u8) -> Vec<u8> {
    vec![function | 0x80, code]
}

/// PDU of a read reply carrying words.
pub fn read_reply(function: u8, words: &[u16]) -> Vec<u8> {
    let mut pdu = Vec::with_capacity(2 + words.len() * 2);
    pdu.push(function);
    pdu.push(u8::try_from(words.len() * 2).unwrap_or(u8::MAX));
    for word in words {
        pdu.extend_from_slice(&word.to_be_bytes());
    }
    pdu
}

/// Big-endian words of a byte slice (an odd trailing byte is ignored).
pub fn words_of(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect()
}

/// A reply PDU as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Register words of a read.
    Words(Vec<u16>),
    /// A write was acknowledged.
    WriteAck,
    /// The server answered with a Modbus exception code.
    Exception(u8),
}

/// Parses a reply PDU to a request of `function` for `quantity` registers.
pub fn parse_reply(function: u8, quantity: u16, pdu: &[u8]) -> Result<Reply, String> {
    let (&code, data) = pdu.split_first().ok_or("empty reply")?;
    if code == function | 0x80 {
        let &exception = data.first().ok_or("exception reply without a code")?;
        return Ok(Reply::Exception(exception));
    }
    if code != function {
        return Err(format!("reply to function {code}, expected {function}"));
    }
    match function {
        function::READ_HOLDING | function::READ_INPUT => {
            let (&count, payload) = data
                .split_first()
                .ok_or("read reply without a byte count")?;
            let expected = usize::from(quantity) * 2;
            if usize::from(count) != expected || payload.len() != expected {
                return Err(format!(
                    "read reply carries {} bytes (count {count}), expected {expected}",
                    payload.len()
                ));
            }
            Ok(Reply::Words(words_of(payload)))
        }
        function::WRITE_SINGLE | function::WRITE_MULTIPLE if data.len() == 4 => Ok(Reply::WriteAck),
        _ => Err(format!("malformed reply to function {function}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip() {
        let frame = Frame {
            transaction: 0x1234,
            unit: 100,
            pdu: read_request(function::READ_HOLDING, 840, 3),
        };
        let bytes = frame.encode();
        assert_eq!(&bytes[..7], &[0x12, 0x34, 0, 0, 0, 6, 100]);
        let parsed = read_frame(&mut bytes.as_slice()).await;
        assert_eq!(parsed.ok().flatten(), Some(frame));
    }

    #[tokio::test]
    async fn bad_headers_are_errors() {
        let bad_protocol = [0, 1, 0, 1, 0, 2, 1, 3];
        assert!(read_frame(&mut bad_protocol.as_slice()).await.is_err());
        let bad_length = [0, 1, 0, 0, 0, 1, 1];
        assert!(read_frame(&mut bad_length.as_slice()).await.is_err());
        let empty: [u8; 0] = [];
        assert!(matches!(read_frame(&mut empty.as_slice()).await, Ok(None)));
    }

    #[test]
    fn frames_split_off_received_bytes() {
        let first = Frame {
            transaction: 7,
            unit: 100,
            pdu: read_reply(function::READ_HOLDING, &[1, 2]),
        };
        let second = Frame {
            transaction: 8,
            unit: 239,
            pdu: exception_reply(function::READ_HOLDING, 0x0B),
        };
        let mut bytes = first.encode();
        bytes.extend(second.encode());
        let (frame, used) = split_frame(&bytes).ok().flatten().expect("first frame");
        assert_eq!((frame, used), (first.clone(), first.encode().len()));
        let rest = &bytes[used..];
        assert_eq!(
            split_frame(rest).ok().flatten().map(|(f, _)| f),
            Some(second)
        );
        for cut in 0..rest.len() {
            assert!(
                matches!(split_frame(&rest[..cut]), Ok(None)),
                "cut at {cut}"
            );
        }
        assert!(split_frame(&[0, 1, 0, 1, 0, 2, 1, 3]).is_err());
        assert!(split_frame(&[0, 1, 0, 0, 0, 1, 1]).is_err());
    }

    #[test]
    fn replies_parse() {
        let words = read_reply(function::READ_HOLDING, &[1, 0xFFFF]);
        assert_eq!(
            parse_reply(function::READ_HOLDING, 2, &words),
            Ok(Reply::Words(vec![1, 0xFFFF]))
        );
        assert!(parse_reply(function::READ_HOLDING, 3, &words).is_err());
        let exception = exception_reply(function::READ_HOLDING, 0x0A);
        assert_eq!(
            parse_reply(function::READ_HOLDING, 2, &exception),
            Ok(Reply::Exception(0x0A))
        );
        assert!(parse_reply(function::WRITE_SINGLE, 1, &[6, 0, 1]).is_err());
    }
}
