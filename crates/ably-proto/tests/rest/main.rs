//! Conformance tests of the REST side of the sans-IO core, ported from the
//! UTS test specs in ably/specification `uts/rest/unit`. The core is driven
//! as a REST client through a mock HTTP layer with a fake clock (see
//! `harness`). Each test names its Test ID; `docs/conformance.md` maps
//! every Test ID to its test or to the reason it does not apply.

mod annotations;
mod auth_callback;
mod auth_scheme;
mod authorize;
mod batch;
mod channels;
mod client;
mod client_id;
mod encoding;
mod fallback;
mod harness;
mod history;
mod presence;
mod publish;
mod request;
mod revoke_tokens;
mod stats;
mod token_details;
mod token_params;
mod token_renewal;
mod types_errors;
mod types_messages;
mod types_options;
mod types_paginated;
mod types_presence;
mod types_tokens;
mod update_delete;

/// The scripted service of the realtime conformance tests, for the few
/// type tests that need a realtime ProtocolMessage (TP3a, TP3d, TP3g).
#[path = "../client/harness.rs"]
mod realtime;
