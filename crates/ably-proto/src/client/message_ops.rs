//! Publish variants: annotations (RTAN1, RTAN2) and message updates,
//! deletes and appends (RTL32); and annotations received (RTAN4b).

use std::collections::BTreeMap;

use crate::encoding::decode_payload;
use crate::error::codes;
use crate::{
    Action, Annotation, AnnotationAction, ErrorInfo, Message, MessageAction, MessageVersion,
    ProtocolMessage,
};

use super::channel::ChannelState;
use super::io::Event;
use super::publish::Outgoing;
use super::{Client, OpId};

/// The code for a missing serial or annotation type (RSL15a, RSAN1a3).
const INVALID_PARAMETER: u32 = 40003;

fn missing(what: &str) -> ErrorInfo {
    ErrorInfo::new(INVALID_PARAMETER, 400, format!("{what} is required"))
}

impl Client {
    /// RTAN1, RTAN2: an ANNOTATION frame with one annotation.
    pub(crate) fn on_command_annotate(
        &mut self,
        op: OpId,
        channel: String,
        message_serial: String,
        action: AnnotationAction,
        mut annotation: Annotation,
    ) {
        if message_serial.is_empty() {
            self.complete(op, Err(missing("the serial of the annotated message")));
            return;
        }
        if annotation
            .annotation_type
            .as_deref()
            .is_none_or(str::is_empty)
        {
            self.complete(op, Err(missing("the annotation type (RSAN1a3)")));
            return;
        }
        annotation.action = Some(action); // RSAN1c1, RTAN2a
        annotation.message_serial = Some(message_serial); // RSAN1c2
        let size = annotation.size();
        let value = match annotation.to_value() {
            Ok(v) => v,
            Err(e) => {
                let err = ErrorInfo::new(codes::INVALID_DATA_OR_ENCODING, 400, e.to_string());
                self.complete(op, Err(err));
                return;
            }
        };
        let mut frame = ProtocolMessage::for_channel(Action::Annotation, channel);
        frame.annotations = vec![value]; // RTAN1c
        self.submit_on_channel(op, frame, size);
    }

    /// RTL32: a MESSAGE frame with one message carrying the action.
    pub(crate) fn on_command_edit_message(
        &mut self,
        op: OpId,
        channel: String,
        action: MessageAction,
        mut message: Message,
        operation: Option<Box<MessageVersion>>,
        params: BTreeMap<String, String>,
    ) {
        if message.serial.as_deref().is_none_or(str::is_empty) {
            self.complete(op, Err(missing("the serial of the message (RTL32a)")));
            return;
        }
        message.action = Some(action); // RTL32b1
        if operation.is_some() {
            message.version = operation; // RTL32b2
        }
        let size = message.size();
        let mut frame = ProtocolMessage::for_channel(Action::Message, channel);
        frame.messages = vec![message];
        if !params.is_empty() {
            frame.params = Some(params); // RTL32e
        }
        self.submit_on_channel(op, frame, size);
    }

    /// The checks of a publish (TO3l8, RTL6c4), then submit (RTAN1b).
    fn submit_on_channel(&mut self, op: OpId, frame: ProtocolMessage, size: usize) {
        if size > self.max_message_size() {
            let err = ErrorInfo::new(
                codes::MESSAGE_TOO_LARGE,
                400,
                format!(
                    "size {size} exceeds maxMessageSize {}",
                    self.max_message_size()
                ),
            );
            self.complete(op, Err(err));
            return;
        }
        let name = frame.channel.as_deref().unwrap_or_default();
        if let Some(state) = self.channels.get(name).map(|c| c.state) {
            if matches!(state, ChannelState::Suspended | ChannelState::Failed) {
                let err = ErrorInfo::new(
                    90001,
                    400,
                    format!("can not publish while the channel is {state} (RTL6c4)"),
                );
                self.complete(op, Err(err));
                return;
            }
        }
        self.submit(Outgoing { frame, op });
    }

    /// RTAN4b: every annotation of an ANNOTATION frame, decoded, on an
    /// attached channel.
    pub(crate) fn annotation_frame(&mut self, name: &str, pm: Box<ProtocolMessage>) {
        if self.chan(name).state != ChannelState::Attached {
            return; // as RTL17 for messages
        }
        let cipher = self.chan(name).options.cipher.clone();
        for value in pm.annotations {
            let mut annotation = match Annotation::from_value(value) {
                Ok(a) => a,
                Err(e) => {
                    let err = ErrorInfo::new(codes::PROTOCOL_ERROR, 400, e.to_string());
                    self.log_error("annotation could not be read", err);
                    continue;
                }
            };
            // TAN2f1, RSL6b: report, still deliver.
            let decoded = decode_payload(
                &mut annotation.data,
                &mut annotation.encoding,
                cipher.as_ref(),
            );
            if let Err(err) = decoded {
                self.log_error("annotation payload could not be decoded", err);
            }
            self.emit(Event::Annotation {
                channel: self.shared_name(name),
                annotation: Box::new(annotation),
            });
        }
    }
}
