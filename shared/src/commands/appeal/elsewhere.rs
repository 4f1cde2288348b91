//! `/appeal` sent in a DM with the bot (Discord's DM, Telegram's private chat), which is in
//! no community: a muted or banned member often cannot post in the community any more. The
//! member's index of cases across communities says where their case #N is, and the appeal
//! goes on as if it had been sent there (the invocation re-targeted, as the ban DM's Appeal
//! button does).
//!
//! A case number is per community, so a member may have a case #N in several. Only those
//! that may still be appealed count; when several remain, the member is told which and asked
//! to appeal from the community itself (a command's positional text has no room for a
//! qualifier after a free-text reason).

use super::opening::Standing;
use super::unreachable_store;
use crate::commands::CommandContext;
use crate::invocation::{Invocation, Platform};
use crate::moderation::cases::tenants_with_case;
use crate::reply::Reply;

/// The community where the invoking member's case `number` may be appealed, as the
/// invocation re-targeted to it and the case's standing there; or the member's answer.
pub(super) async fn locate(
    ctx: &CommandContext<'_>,
    number: u64,
    now: i64,
) -> Result<(Invocation, Standing), Reply> {
    let invocation = ctx.invocation;
    let tenants = tenants_with_case(ctx.store, invocation.platform, &invocation.actor.id, number)
        .await
        .map_err(|error| unreachable_store(&error))?;
    let mut appealable = Vec::new();
    let mut refusals = Vec::new();
    for tenant in tenants {
        let there = in_community(invocation, &tenant);
        match Standing::load(ctx.store, &there, number, now).await {
            Ok(standing) => appealable.push((there, standing)),
            Err(refused) => refusals.push((tenant, refused)),
        }
    }
    match (appealable.len(), refusals.len()) {
        (0, 0) => Err(Reply::ephemeral(format!(
            "You have no case #{number} in any community Gavel moderates."
        ))),
        (1, _) => Ok(appealable.remove(0)),
        // The one community's own answer ("already appealed", "not appealable", …).
        (0, 1) => Err(refusals.remove(0).1),
        (0, _) => Err(all_refused(invocation.platform, number, &refusals)),
        _ => Err(ambiguous(invocation.platform, number, &appealable)),
    }
}

/// `invocation` as if it had been sent in `tenant`: the appeal, its audit entry and its
/// review belong to that community.
pub(super) fn in_community(invocation: &Invocation, tenant: &str) -> Invocation {
    let mut there = invocation.clone();
    there.tenant = tenant.to_owned();
    there
}

/// A community as the member can recognise it (its id: the title is not stored).
fn community_name(platform: Platform, tenant: &str) -> String {
    match platform {
        Platform::Telegram => format!("group `{tenant}`"),
        Platform::Discord | Platform::Slack => format!("server `{tenant}`"),
    }
}

fn ambiguous(platform: Platform, number: u64, found: &[(Invocation, Standing)]) -> Reply {
    let names: Vec<String> = found
        .iter()
        .map(|(there, _)| community_name(platform, &there.tenant))
        .collect();
    let how = match platform {
        Platform::Discord => format!(
            "run `/appeal case:{number}` in that server, or use the Appeal button under the ban's direct message"
        ),
        Platform::Telegram | Platform::Slack => {
            format!("send `/appeal {number} <reason>` in that group")
        }
    };
    Reply::ephemeral(format!(
        "You have a case #{number} that may be appealed in {} communities: {}. To say which one, {how}.",
        names.len(),
        names.join(", ")
    ))
}

fn all_refused(platform: Platform, number: u64, refusals: &[(String, Reply)]) -> Reply {
    let lines: Vec<String> = refusals
        .iter()
        .map(|(tenant, why)| format!("- {}: {}", community_name(platform, tenant), why.text))
        .collect();
    Reply::ephemeral(format!(
        "Your case #{number} cannot be appealed in any community:\n{}",
        lines.join("\n")
    ))
}
