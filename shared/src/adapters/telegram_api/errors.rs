//! Telegram's refusals, turned into what the moderator can do about them, and
//! `getChatMember`'s answer read for the rights Gavel maps to capabilities.

use serde_json::Value;

use crate::platform::{ApiError, MemberRights};

/// A refusal by its `description` (Telegram's error codes are only 400/403; the text is what
/// says why), with what to do about it where a moderator can.
pub(super) fn classify(
    method: &str,
    status: u16,
    description: &str,
    parameters: &Value,
) -> ApiError {
    let lower = description.to_ascii_lowercase();
    let has = |needle: &str| lower.contains(needle);
    let forbidden = |message: &str| ApiError::Forbidden {
        message: message.to_owned(),
    };
    if let Some(new_id) = parameters["migrate_to_chat_id"].as_i64() {
        return ApiError::Rejected {
            status,
            message: format!(
                "the group became a supergroup (its new id is {new_id}); run the command there again"
            ),
        };
    }
    if has("not enough rights to restrict")
        || (has("not enough rights") && method.contains("Member"))
    {
        return forbidden("make me an administrator with the Ban users right");
    }
    if has("not enough rights to delete") || has("message can't be deleted") {
        return forbidden(
            "make me an administrator with the Delete messages right (Telegram lets bots delete messages only within 48 hours)",
        );
    }
    if has("chat_admin_required") || has("need administrator rights") || has("not enough rights") {
        return forbidden("make me an administrator of the group");
    }
    if has("user is an administrator")
        || has("can't remove chat owner")
        || has("user_admin_invalid")
        || has("can't restrict self")
    {
        return forbidden(
            "Telegram does not let bots act on the group's owner or its administrators; remove their administrator rights first",
        );
    }
    if has("bot can't initiate conversation") || has("bot was blocked by the user") {
        return forbidden(
            "they have not started a private chat with the bot, and Telegram lets bots write only to people who have",
        );
    }
    if has("bot was kicked") || has("bot is not a member") {
        return forbidden("I am no longer in the group; add me back as an administrator");
    }
    if has("message to delete not found") || has("message to edit not found") {
        return ApiError::NotFound("the message".to_owned());
    }
    if has("chat not found") {
        return ApiError::NotFound("the chat".to_owned());
    }
    if has("user not found") || has("participant_id_invalid") {
        return ApiError::NotFound("the member".to_owned());
    }
    if has("query is too old") || has("query id is invalid") {
        return ApiError::NotFound("the button press (answered too late)".to_owned());
    }
    ApiError::Rejected {
        status,
        message: format!(
            "{method}: {}",
            description.chars().take(200).collect::<String>()
        ),
    }
}

/// The rights in a `ChatMember`. Read by name rather than with frankenstein's `ChatMember`:
/// its administrator type requires every right Bot API 10.x lists, so an answer without one
/// (an older server, a right renamed) would fail and cost a real administrator their powers.
pub(super) fn rights_of(member: &Value) -> MemberRights {
    let flag = |name: &str| member[name] == true;
    match member["status"].as_str() {
        Some("creator") => MemberRights {
            owner: true,
            administrator: true,
            can_restrict_members: true,
            can_delete_messages: true,
            can_change_info: true,
        },
        Some("administrator") => MemberRights {
            owner: false,
            administrator: true,
            can_restrict_members: flag("can_restrict_members"),
            can_delete_messages: flag("can_delete_messages"),
            can_change_info: flag("can_change_info"),
        },
        _ => MemberRights::default(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn refusals_say_what_to_do() {
        let none = Value::Null;
        let cases = [
            (
                "banChatMember",
                "Bad Request: not enough rights to restrict/unrestrict chat member",
                "Ban users",
            ),
            (
                "sendMessage",
                "Forbidden: bot can't initiate conversation with a user",
                "started a private chat",
            ),
            (
                "deleteMessage",
                "Bad Request: message can't be deleted",
                "Delete messages",
            ),
            (
                "restrictChatMember",
                "Bad Request: user is an administrator of the chat",
                "administrators",
            ),
        ];
        for (method, description, says) in cases {
            match classify(method, 400, description, &none) {
                ApiError::Forbidden { message } => assert!(message.contains(says), "{message}"),
                other => panic!("{description}: {other:?}"),
            }
        }
        assert!(matches!(
            classify(
                "deleteMessage",
                400,
                "Bad Request: message to delete not found",
                &none
            ),
            ApiError::NotFound(_)
        ));
        let migrated = classify(
            "sendMessage",
            400,
            "Bad Request: group chat was upgraded",
            &json!({ "migrate_to_chat_id": -1001 }),
        );
        assert!(migrated.to_string().contains("-1001"), "{migrated}");
    }

    #[test]
    fn rights_are_read_leniently() {
        let admin = json!({ "status": "administrator", "user": {}, "can_restrict_members": true });
        let rights = rights_of(&admin);
        assert!(rights.administrator && rights.can_restrict_members && !rights.can_delete_messages);
        assert!(rights_of(&json!({ "status": "creator" })).owner);
        assert_eq!(
            rights_of(&json!({ "status": "member" })),
            MemberRights::default()
        );
        assert_eq!(rights_of(&json!("garbage")), MemberRights::default());
    }
}
