//! [`Delivered`]: what an adapter's stream has handed its consumer: the
//! id to continue from, and the error that ended it.

use super::event::Received;
use crate::ErrorInfo;
use crate::adapter::Error;

/// The consumer's end of a stream, kept by an adapter's `SseStream`: each
/// item goes through [`hand_out`](Delivered::hand_out) on its way out.
#[derive(Clone, Debug, Default)]
pub struct Delivered {
    last_event: Option<String>,
    ended: Option<Error>,
}

impl Delivered {
    /// Notes an item handed out and gives it back: a received event moves
    /// the last event id on; an error ends the stream; `None` (the reader
    /// is gone without saying why) ends it with 80017.
    pub fn hand_out(&mut self, item: Option<Result<Received, Error>>) -> Result<Received, Error> {
        match item {
            Some(Ok(r)) => {
                if let Some(id) = &r.id {
                    self.last_event = Some(id.clone());
                }
                Ok(r)
            }
            Some(Err(e)) => {
                self.ended = Some(e.clone());
                Err(e)
            }
            None => {
                let e = Error::from(ErrorInfo::new(80017, 400, "the stream has stopped"));
                self.ended = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The id of the last event handed out (or `None` before the first).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event.as_deref()
    }

    /// The error that ended the stream, once it has been handed out.
    pub fn ended(&self) -> Option<&Error> {
        self.ended.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;
    use crate::sse::Item;

    fn event(id: Option<&str>) -> Received {
        Received {
            id: id.map(str::to_owned),
            channel: "c".into(),
            item: Item::Message(Message::default()),
            decode_error: None,
        }
    }

    #[test]
    fn ids_move_on_with_each_event_and_the_end_sticks() {
        let mut d = Delivered::default();
        assert_eq!(d.last_event_id(), None);
        d.hand_out(Some(Ok(event(Some("1"))))).expect("an event");
        d.hand_out(Some(Ok(event(None)))).expect("an event");
        assert_eq!(d.last_event_id(), Some("1"), "an event without id keeps it");
        assert!(d.ended().is_none());
        let e = Error::from(ErrorInfo::new(40142, 401, "token expired"));
        assert_eq!(d.hand_out(Some(Err(e.clone()))), Err(e.clone()));
        assert_eq!(d.ended(), Some(&e));
        assert_eq!(d.last_event_id(), Some("1"));
    }

    #[test]
    fn a_reader_gone_without_a_reason_ends_with_80017() {
        let mut d = Delivered::default();
        let e = d.hand_out(None).expect_err("the end");
        assert_eq!(e.code(), 80017);
        assert_eq!(d.ended().map(Error::code), Some(80017));
    }
}
