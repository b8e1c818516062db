//! Faults the simulator can inject, each for a number of upcoming replies.

use std::collections::VecDeque;
use std::str::FromStr;

/// How a reply is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformation {
    /// The MBAP length field disagrees with the bytes sent.
    BadLength,
    /// The transaction id is not the request's.
    WrongTransaction,
    /// The unit id is not the request's.
    WrongUnit,
    /// The protocol id is not 0 (not a Modbus frame at all).
    BadProtocol,
}

impl FromStr for Malformation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "bad_length" => Ok(Self::BadLength),
            "wrong_transaction" => Ok(Self::WrongTransaction),
            "wrong_unit" => Ok(Self::WrongUnit),
            "bad_protocol" => Ok(Self::BadProtocol),
            other => Err(format!(
                "unknown malformation {other:?} (bad_length, wrong_transaction, wrong_unit, bad_protocol)"
            )),
        }
    }
}

impl Malformation {
    /// Spoils an encoded reply frame in place.
    pub fn apply(self, frame: &mut [u8]) {
        match self {
            Self::BadLength => {
                // Claim more bytes than follow: the client waits or mis-frames.
                frame[4] = 0;
                frame[5] = frame[5].saturating_add(7);
            }
            Self::WrongTransaction => {
                let id = u16::from_be_bytes([frame[0], frame[1]]).wrapping_add(1);
                frame[..2].copy_from_slice(&id.to_be_bytes());
            }
            Self::WrongUnit => frame[6] = frame[6].wrapping_add(1),
            Self::BadProtocol => frame[2] = 0x12,
        }
    }
}

/// What to do with the next reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyFault {
    /// Send half the reply, then close the connection.
    DropMidReply,
    /// Send a spoiled reply.
    Malformed(Malformation),
}

/// Pending faults, consumed in order.
#[derive(Debug, Default)]
pub struct Faults {
    stall_requests: u32,
    replies: VecDeque<ReplyFault>,
    /// Cut every n-th reply and close its connection, until cleared (a flaky GX).
    drop_every: Option<u32>,
    replies_since_drop: u32,
}

impl Faults {
    /// The next `count` requests get no reply at all.
    pub fn stall(&mut self, count: u32) {
        self.stall_requests = self.stall_requests.saturating_add(count);
    }

    /// The next `count` replies get a fault.
    pub fn queue(&mut self, fault: ReplyFault, count: u32) {
        self.replies
            .extend(std::iter::repeat_n(fault, count as usize));
    }

    /// Whether this request is to be stalled (consumes one).
    pub fn take_stall(&mut self) -> bool {
        if self.stall_requests == 0 {
            return false;
        }
        self.stall_requests -= 1;
        true
    }

    /// From now on cut every `n`-th reply and close its connection (0: stop).
    pub fn drop_every(&mut self, n: u32) {
        self.drop_every = (n > 0).then_some(n);
        self.replies_since_drop = 0;
    }

    /// The fault for the next reply, if any: a queued one first, then the
    /// recurring drop.
    pub fn take_reply_fault(&mut self) -> Option<ReplyFault> {
        if let Some(fault) = self.replies.pop_front() {
            return Some(fault);
        }
        let every = self.drop_every?;
        self.replies_since_drop += 1;
        if self.replies_since_drop < every {
            return None;
        }
        self.replies_since_drop = 0;
        Some(ReplyFault::DropMidReply)
    }

    /// Drops every pending fault.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}
