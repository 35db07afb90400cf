//! Inline policy of a role: PutRolePolicy, DeleteRolePolicy (read with the role, `role.rs`).

use crossrep_core::kinds::role_policy::RolePolicy;
use crossrep_core::kinds::Change;

use crate::error::{call_error, CallError};
use crate::session::Sessions;

pub(crate) async fn apply(c: &Change<RolePolicy>, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(&c.addr.account);
    let account = session.id.as_str();
    let (role, name) = (&c.addr.role, &c.addr.name);
    match &c.after {
        Some(spec) => {
            // The ARN of a replica key this run created goes where the plan has its token.
            let document =
                super::replica_key::resolve(&spec.document.to_string(), sessions).await?;
            session
                .iam
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(document)
                .send()
                .await
                .map_err(|e| call_error(e, account, "iam:PutRolePolicy", role))?;
            Ok(())
        }
        None => match session
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(call_error(e, account, "iam:DeleteRolePolicy", role)),
        },
    }
}
