//! ProtocolMessage actions (TR2).

use super::wire_enum::wire_enum;

wire_enum! {
    /// The action of a [`ProtocolMessage`](super::ProtocolMessage) (TR2).
    pub enum Action {
        /// Keep-alive from the server, or a ping and its echo (RTN13).
        Heartbeat = 0,
        /// Acknowledges published messages (RTN7a).
        Ack = 1,
        /// Rejects published messages (RTN7a).
        Nack = 2,
        /// Client asks to connect (unused over WebSocket: the URL carries it).
        Connect = 3,
        /// The connection is established; carries connectionDetails.
        Connected = 4,
        /// Client asks to disconnect.
        Disconnect = 5,
        /// The server is dropping the connection; the client may resume.
        Disconnected = 6,
        /// Client asks to close the connection.
        Close = 7,
        /// The connection is closed.
        Closed = 8,
        /// A connection error, or a channel error when `channel` is set.
        Error = 9,
        /// Client asks to attach to a channel.
        Attach = 10,
        /// A channel is attached.
        Attached = 11,
        /// Client asks to detach from a channel.
        Detach = 12,
        /// A channel is detached.
        Detached = 13,
        /// Presence messages on a channel.
        Presence = 14,
        /// Messages on a channel.
        Message = 15,
        /// A page of the presence set (RTP18).
        Sync = 16,
        /// In-band re-authentication (RTN22).
        Auth = 17,
        /// Push activation.
        Activate = 18,
        /// LiveObjects operations.
        Object = 19,
        /// LiveObjects state sync.
        ObjectSync = 20,
        /// Message annotations.
        Annotation = 21,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_including_unknown() {
        for n in 0..64 {
            assert_eq!(Action::from_number(n).number(), n);
        }
        assert_eq!(Action::from_number(15), Action::Message);
        assert_eq!(Action::from_number(99), Action::Unknown(99));
    }
}
