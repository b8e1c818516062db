//! Arbitrary bytes from the network never panic the core: the simulator's
//! request handler, the frame reader and the reply parser answer with an
//! exception or an error instead.

use std::time::Instant;

use proptest::prelude::*;
use victron_gx_modbus::frame::{self, read_frame};
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::sim::{Gx, Scenario};

fn gx() -> Gx {
    let scenario = Scenario::bundled("single-phase-ess").expect("scenario");
    Gx::new(&scenario, embedded().expect("ledger"), 1).expect("gx")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_request_gets_a_well_formed_reply(unit in any::<u8>(), pdu in prop::collection::vec(any::<u8>(), 0..260)) {
        let mut gx = gx();
        let outcome = gx.handle(unit, &pdu, Instant::now());
        prop_assert!(!outcome.reply.is_empty());
        if let Some(code) = outcome.exception {
            prop_assert_eq!(outcome.reply.len(), 2);
            prop_assert!([0x01, 0x02, 0x03, 0x0A].contains(&code));
        }
    }

    #[test]
    fn reads_anywhere_answer_words_or_an_exception(unit in any::<u8>(), start in any::<u16>(), quantity in 0u16..200) {
        let mut gx = gx();
        let pdu = frame::read_request(frame::function::READ_HOLDING, start, quantity);
        let outcome = gx.handle(unit, &pdu, Instant::now());
        match outcome.exception {
            None => prop_assert_eq!(outcome.reply.len(), 2 + 2 * usize::from(quantity)),
            Some(_) => prop_assert_eq!(outcome.reply.len(), 2),
        }
    }

    #[test]
    fn replies_of_any_shape_parse_or_fail_cleanly(function in any::<u8>(), quantity in any::<u16>(), pdu in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = frame::parse_reply(function, quantity, &pdu);
    }

    #[test]
    fn arbitrary_streams_never_panic_the_frame_reader(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(async {
            let mut reader = bytes.as_slice();
            while let Ok(Some(_)) = read_frame(&mut reader).await {}
        });
    }
}
