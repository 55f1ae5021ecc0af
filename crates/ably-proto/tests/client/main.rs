//! Conformance tests of the sans-IO client, ported from the UTS test specs
//! in ably/specification `uts/realtime/unit` (connection, auth, client).
//! Each test names its Test ID; `docs/conformance.md` maps every Test ID to
//! its test or to the reason it does not apply.

mod adapter;
mod auth;
mod chan_attach;
mod chan_detach;
mod chan_fields;
mod chan_lifecycle_util;
mod chan_mutations;
mod chan_options;
mod chan_publish;
mod chan_publish_util;
mod chan_smoke;
mod chan_state_events;
mod chan_state_util;
mod chan_subscribe;
mod chan_subscribe_util;
mod conn_lifecycle;
mod conn_ping;
mod conn_recovery;
mod conn_transport;
mod handshake;
mod harness;
mod presence_enter;
mod presence_get;
mod presence_map;
mod presence_ops_util;
mod presence_sync;
mod realtime_client;
mod rest_proxy;
