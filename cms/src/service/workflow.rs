//! The review workflow (三审三校) as a pure state machine: an item's status and pending level,
//! the site's number of review levels, and an action give the next state or the reason the
//! action is not possible now. Permissions are checked by the caller ([`super::authz`]).
//!
//! ```text
//! draft/returned/published/unpublished ──submit──▶ pending(1) ──approve──▶ pending(2) … ──approve(last)──▶ published
//!          ▲                                        │   (no levels: submit publishes at once)      (or scheduled)
//!          └───────────── return (comment) ◀────────┘   withdraw ▶ draft
//! published ──unpublish──▶ unpublished
//! ```

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    /// Awaiting a decision at this level (1-based).
    Pending(i32),
    Returned,
    /// Finally approved, waiting for its publication time.
    Scheduled,
    Published,
    Unpublished,
}

impl Status {
    pub fn from_row(status: &str, level: i32) -> Status {
        match status {
            "pending" => Status::Pending(level.max(1)),
            "returned" => Status::Returned,
            "scheduled" => Status::Scheduled,
            "published" => Status::Published,
            "unpublished" => Status::Unpublished,
            _ => Status::Draft,
        }
    }

    /// (status column, review_level column).
    pub fn to_row(self) -> (&'static str, i32) {
        match self {
            Status::Draft => ("draft", 0),
            Status::Pending(l) => ("pending", l),
            Status::Returned => ("returned", 0),
            Status::Scheduled => ("scheduled", 0),
            Status::Published => ("published", 0),
            Status::Unpublished => ("unpublished", 0),
        }
    }

    pub fn label(self) -> String {
        match self {
            Status::Draft => "草稿".into(),
            Status::Pending(l) => format!("待{}审", level_name(l)),
            Status::Returned => "已退回".into(),
            Status::Scheduled => "待定时发布".into(),
            Status::Published => "已发布".into(),
            Status::Unpublished => "已撤稿".into(),
        }
    }

    /// Whether the item may be edited in this state (not while a reviewer decides on it).
    pub fn editable(self) -> bool {
        !matches!(self, Status::Pending(_) | Status::Scheduled)
    }
}

/// 初 / 复 / 终 for three levels; 一/二/三 otherwise.
pub fn level_name(level: i32) -> &'static str {
    match level {
        1 => "初",
        2 => "复",
        3 => "终",
        _ => "",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Submit,
    Approve,
    Return,
    Withdraw,
    Unpublish,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "submit" => Action::Submit,
            "approve" => Action::Approve,
            "return" => Action::Return,
            "withdraw" => Action::Withdraw,
            "unpublish" => Action::Unpublish,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Return => "return",
            Action::Withdraw => "withdraw",
            Action::Unpublish => "unpublish",
        }
    }
}

/// The next state. `levels` is the site's number of review levels (0–3); `publish_at` the
/// item's scheduled publication time, if any.
pub fn next(
    status: Status,
    action: Action,
    levels: i32,
    publish_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Status, &'static str> {
    let released = || match publish_at {
        Some(t) if t > now => Status::Scheduled,
        _ => Status::Published,
    };
    match (action, status) {
        (Action::Submit, Status::Pending(_) | Status::Scheduled) => Err("已在审核中"),
        (Action::Submit, _) if levels <= 0 => Ok(released()),
        (Action::Submit, _) => Ok(Status::Pending(1)),
        (Action::Approve, Status::Pending(l)) if l >= levels => Ok(released()),
        (Action::Approve, Status::Pending(l)) => Ok(Status::Pending(l + 1)),
        (Action::Return, Status::Pending(_)) => Ok(Status::Returned),
        (Action::Approve | Action::Return, _) => Err("该稿件不在审核中"),
        (Action::Withdraw, Status::Pending(_) | Status::Scheduled) => Ok(Status::Draft),
        (Action::Withdraw, _) => Err("该稿件不在审核中"),
        (Action::Unpublish, Status::Published | Status::Scheduled) => Ok(Status::Unpublished),
        (Action::Unpublish, _) => Err("该稿件未发布"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_levels_publish_only_after_the_last_approval() {
        let now = Utc::now();
        let mut s = Status::Draft;
        s = next(s, Action::Submit, 3, None, now).unwrap();
        assert_eq!(s, Status::Pending(1));
        s = next(s, Action::Approve, 3, None, now).unwrap();
        assert_eq!(s, Status::Pending(2));
        s = next(s, Action::Approve, 3, None, now).unwrap();
        assert_eq!(s, Status::Pending(3));
        s = next(s, Action::Approve, 3, None, now).unwrap();
        assert_eq!(s, Status::Published);
        assert!(next(s, Action::Approve, 3, None, now).is_err());
    }

    #[test]
    fn no_levels_publish_on_submit_and_schedules_wait() {
        let now = Utc::now();
        assert_eq!(
            next(Status::Draft, Action::Submit, 0, None, now),
            Ok(Status::Published)
        );
        let later = now + chrono::Duration::hours(1);
        assert_eq!(
            next(Status::Pending(1), Action::Approve, 1, Some(later), now),
            Ok(Status::Scheduled)
        );
        assert_eq!(
            next(Status::Draft, Action::Submit, 0, Some(now), now),
            Ok(Status::Published)
        );
    }

    #[test]
    fn return_withdraw_and_unpublish() {
        let now = Utc::now();
        assert_eq!(
            next(Status::Pending(2), Action::Return, 3, None, now),
            Ok(Status::Returned)
        );
        assert_eq!(
            next(Status::Returned, Action::Submit, 3, None, now),
            Ok(Status::Pending(1))
        );
        assert_eq!(
            next(Status::Pending(1), Action::Withdraw, 3, None, now),
            Ok(Status::Draft)
        );
        assert!(next(Status::Draft, Action::Return, 3, None, now).is_err());
        assert!(next(Status::Pending(1), Action::Submit, 3, None, now).is_err());
        assert_eq!(
            next(Status::Published, Action::Unpublish, 3, None, now),
            Ok(Status::Unpublished)
        );
        assert!(next(Status::Draft, Action::Unpublish, 3, None, now).is_err());
        for (status, level) in [("pending", 2), ("draft", 0), ("published", 0)] {
            assert_eq!(Status::from_row(status, level).to_row(), (status, level));
        }
    }
}
