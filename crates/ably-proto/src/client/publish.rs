//! The connection-level side of publishing (RTN7, RTN19, RTL6c): msgSerial,
//! frames awaiting ACK/NACK, and frames queued until the connection is up.

use std::collections::VecDeque;

use crate::ErrorInfo;
use crate::ProtocolMessage;

use super::io::OpId;

/// The most frames queued or awaiting ACK before new publishes are refused.
pub const MAX_OUTSTANDING_FRAMES: usize = 10_000;

/// A frame that expects an ACK or NACK, and the operation it completes.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub(crate) frame: ProtocolMessage,
    pub(crate) op: OpId,
}

/// msgSerial and the two queues.
#[derive(Clone, Debug, Default)]
pub(crate) struct PublishQueue {
    /// The serial of the next frame sent (RTN7b).
    pub(crate) msg_serial: u64,
    /// Sent, awaiting ACK/NACK, in serial order.
    pub(crate) in_flight: VecDeque<Outgoing>,
    /// Not yet sent (RTL6c2).
    pub(crate) queued: VecDeque<Outgoing>,
}

impl PublishQueue {
    /// Whether another frame fits.
    pub(crate) fn has_room(&self) -> bool {
        self.in_flight.len() + self.queued.len() < MAX_OUTSTANDING_FRAMES
    }

    /// Assigns the next serial to a frame and records it as in flight.
    pub(crate) fn send(&mut self, mut out: Outgoing) -> &ProtocolMessage {
        out.frame.msg_serial = Some(self.msg_serial);
        self.msg_serial += 1;
        self.in_flight.push_back(out);
        &self.in_flight.back().expect("just pushed").frame
    }

    /// Completes the frames an ACK or NACK covers: serials
    /// `serial..serial+count` (RTN7a). Returns the completed frames.
    pub(crate) fn acknowledge(&mut self, serial: u64, count: u64) -> Vec<Outgoing> {
        let end = serial.saturating_add(count.max(1));
        let mut done = Vec::new();
        while let Some(front) = self.in_flight.front() {
            let s = front.frame.msg_serial.unwrap_or(0);
            if s >= end {
                break;
            }
            // Frames before `serial` were missed by the service's reply; they
            // are completed too, in order, as the ACK implies.
            done.push(self.in_flight.pop_front().expect("front exists"));
        }
        done
    }

    /// Takes every frame, in flight first, for failing them (RTN7e).
    pub(crate) fn drain_all(&mut self) -> Vec<OpId> {
        let mut ops: Vec<OpId> = self.in_flight.drain(..).map(|o| o.op).collect();
        ops.extend(self.queued.drain(..).map(|o| o.op));
        ops
    }

    /// Frames to send on a new transport: in-flight ones again, then the
    /// queue. After a failed resume, every frame gets a new serial
    /// (RTN15c7, RTN19a2); after a successful one, in-flight frames keep
    /// theirs.
    pub(crate) fn frames_for_new_transport(&mut self, resumed: bool) -> Vec<ProtocolMessage> {
        let mut frames = Vec::new();
        if resumed {
            frames.extend(self.in_flight.iter().map(|o| o.frame.clone()));
        } else {
            self.msg_serial = 0;
            let resend: Vec<Outgoing> = self.in_flight.drain(..).collect();
            for out in resend {
                frames.push(self.send(out).clone());
            }
        }
        while let Some(out) = self.queued.pop_front() {
            frames.push(self.send(out).clone());
        }
        frames
    }

    /// The error for a NACK without one.
    pub(crate) fn nack_error(error: Option<ErrorInfo>) -> ErrorInfo {
        error.unwrap_or_else(|| {
            ErrorInfo::new(
                crate::error::codes::INTERNAL,
                500,
                "message rejected by the service (NACK)",
            )
        })
    }
}
