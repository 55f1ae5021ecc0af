//! Auth types and TokenRequest signing (RSA).

mod capability;
mod signing;
mod token;

pub use capability::{Capability, canonical_capability};
pub use signing::{
    ApiKey, create_token_request, nonce_from_bytes, sign_token_request, signing_text,
    verify_token_request,
};
pub use token::{TokenDetails, TokenParams, TokenRequest};
