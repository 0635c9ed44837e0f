//! Admin security (等保 level 3): password history and age, account expiry, TOTP, session
//! metadata, login throttling, and the append-only, hash-chained audit trail.
//!
//! `audit_log` refuses UPDATE and DELETE with a trigger; the only deletion allowed is the
//! pruning of archived records, which inserts a row into `audit_prune_permit` in the same
//! transaction (and removes it before committing). Whoever can drop the trigger can still write,
//! which is what the hash chain is for: `sitegroup audit verify` finds the change.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppUser {
    Table,
    PasswordChangedAt,
    ExpiresAt,
    TotpSecret,
    TotpEnabled,
    TotpLastStep,
}

#[derive(DeriveIden)]
enum UserSession {
    Table,
    Stage,
    ClientAddr,
    UserAgent,
}

#[derive(DeriveIden)]
enum PasswordHistory {
    Table,
    Id,
    UserId,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCode {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    Failures,
    LastFailureAt,
    LockedUntil,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    At,
    ActorId,
    ActorName,
    ActorRole,
    ClientAddr,
    Event,
    Object,
    Result,
    Details,
    KeyId,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditState {
    Table,
    Id,
    LastSeq,
    LastHash,
    AnchorSeq,
    AnchorHash,
}

#[derive(DeriveIden)]
enum AuditPrunePermit {
    Table,
    Id,
}

const SQLITE_GUARDS: &[&str] = &[
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log \
     WHEN NOT EXISTS (SELECT 1 FROM audit_prune_permit) \
     BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
];

const POSTGRES_GUARDS: &[&str] = &[
    "CREATE FUNCTION audit_log_guard() RETURNS trigger AS $$ BEGIN \
       IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_prune_permit) THEN RETURN OLD; END IF; \
       RAISE EXCEPTION 'audit records are append-only'; \
     END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log \
     FOR EACH ROW EXECUTE FUNCTION audit_log_guard()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log \
     FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            timestamp_with_time_zone_null(AppUser::PasswordChangedAt),
            timestamp_with_time_zone_null(AppUser::ExpiresAt),
            text_null(AppUser::TotpSecret),
            boolean(AppUser::TotpEnabled).default(false).to_owned(),
            big_integer_null(AppUser::TotpLastStep),
        ] {
            m.alter_table(
                Table::alter()
                    .table(AppUser::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        for col in [
            string(UserSession::Stage).default("ok").to_owned(),
            string(UserSession::ClientAddr).default("").to_owned(),
            string(UserSession::UserAgent).default("").to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(UserSession::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(PasswordHistory::Table)
                .col(pk_auto(PasswordHistory::Id))
                .col(integer(PasswordHistory::UserId))
                .col(text(PasswordHistory::PasswordHash))
                .col(timestamp_with_time_zone(PasswordHistory::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_password_history_user")
                .table(PasswordHistory::Table)
                .col(PasswordHistory::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RecoveryCode::Table)
                .col(pk_auto(RecoveryCode::Id))
                .col(integer(RecoveryCode::UserId))
                .col(string(RecoveryCode::CodeHash))
                .col(timestamp_with_time_zone_null(RecoveryCode::UsedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_recovery_code_user")
                .table(RecoveryCode::Table)
                .col(RecoveryCode::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LoginThrottle::Table)
                .col(string(LoginThrottle::Key).primary_key())
                .col(integer(LoginThrottle::Failures))
                .col(timestamp_with_time_zone(LoginThrottle::LastFailureAt))
                .col(timestamp_with_time_zone_null(LoginThrottle::LockedUntil))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(big_integer(AuditLog::Seq).primary_key())
                .col(timestamp_with_time_zone(AuditLog::At))
                .col(integer_null(AuditLog::ActorId))
                .col(string(AuditLog::ActorName))
                .col(string(AuditLog::ActorRole))
                .col(string(AuditLog::ClientAddr))
                .col(string(AuditLog::Event))
                .col(text(AuditLog::Object))
                .col(string(AuditLog::Result))
                .col(text(AuditLog::Details))
                .col(integer(AuditLog::KeyId))
                .col(string(AuditLog::PrevHash))
                .col(string(AuditLog::Hash))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_audit_log_at", AuditLog::At),
            ("idx_audit_log_event", AuditLog::Event),
            ("idx_audit_log_actor", AuditLog::ActorName),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(AuditLog::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(AuditState::Table)
                .col(integer(AuditState::Id).primary_key())
                .col(big_integer(AuditState::LastSeq))
                .col(string(AuditState::LastHash))
                .col(big_integer(AuditState::AnchorSeq))
                .col(string(AuditState::AnchorHash))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditPrunePermit::Table)
                .col(integer(AuditPrunePermit::Id).primary_key())
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        // The chain starts from a genesis hash of zeros at sequence 0.
        db.execute_unprepared(&format!(
            "INSERT INTO audit_state (id, last_seq, last_hash, anchor_seq, anchor_hash) \
             VALUES (1, 0, '{0}', 0, '{0}')",
            crate::audit::GENESIS
        ))
        .await?;
        let guards = match m.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_GUARDS,
            _ => SQLITE_GUARDS,
        };
        for sql in guards {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "schema migrations are not reverted; restore a backup instead".into(),
        ))
    }
}
