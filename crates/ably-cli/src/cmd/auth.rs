//! `ably auth issue-token`: a token from the service, with the key.

use ably_proto::auth::{Capability, TokenParams};

use super::{Ctx, Outcome};
use crate::args::IssueTokenArgs;
use crate::output::clock;

/// Requests a token (RSA8) with `--ttl`, `--capability` and the global
/// `--client-id`, and prints it with its details (TD).
pub fn issue_token(ctx: &Ctx, args: IssueTokenArgs) -> Outcome {
    let out = ctx.out;
    if let Some(c) = &args.capability {
        Capability::parse(c)?;
    }
    let params = TokenParams {
        ttl: Some(args.ttl.saturating_mul(1000)),
        capability: args.capability.clone(),
        client_id: ctx.global.client_id.clone(),
        ..TokenParams::default()
    };
    let target = ctx.target()?;
    let backend = ctx.backend()?;
    let client = ctx.client(backend.as_ref(), &target, |_| {})?;
    let token = client.request_token(params)?;
    if out.json {
        out.object(&serde_json::to_value(&token).unwrap_or_default());
    } else {
        out.line(&token.token);
        let show = |ms: Option<i64>| {
            ms.map_or("-".to_owned(), |ms| {
                format!("{ms} ({} UTC)", clock(Some(ms)))
            })
        };
        out.note(&format!(
            "issued {}\nexpires {}\nclientId {}\ncapability {}\nkey {}",
            show(token.issued),
            show(token.expires),
            token.client_id.as_deref().unwrap_or("(none)"),
            token.capability.as_deref().unwrap_or("-"),
            token.key_name.as_deref().unwrap_or("-"),
        ));
    }
    Ok(())
}
