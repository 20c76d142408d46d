//! `EngineError`: the engine's one error type. Codes are stable and documented
//! (`docs/sync.md`, "Error codes", with what to do for each); the provisioning log stores them.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The job file is invalid; the message names the key and what is expected.
    #[error("config: {0}")]
    Config(String),
    /// Reading the source failed.
    #[error("source: {0}")]
    Source(String),
    /// An expression failed to evaluate; the message names the function.
    #[error("mapping for '{target}': {message}")]
    Mapping { target: String, message: String },
    /// The target answered an error.
    #[error("target returned HTTP {status}{}: {detail}", scim_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Target {
        status: u16,
        scim_type: Option<String>,
        detail: String,
    },
    /// The target could not be reached or did not answer in time.
    #[error("target unreachable: {0}")]
    Transport(String),
    /// State storage failed.
    #[error("state: {0}")]
    State(String),
}

impl EngineError {
    /// The stable error code recorded in the provisioning log.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Config(_) => "ConfigInvalid",
            EngineError::Source(_) => "SourceReadFailed",
            EngineError::Mapping { .. } => "MappingEvaluationFailed",
            EngineError::Target { status: 401 | 403, .. } => "TargetUnauthorized",
            EngineError::Target { status: 404, .. } => "TargetNotFound",
            EngineError::Target { status: 409, .. } => "TargetConflict",
            EngineError::Target { status: 429, .. } => "TargetThrottled",
            EngineError::Target { status: 400..=499, .. } => "TargetRejected",
            EngineError::Target { .. } => "TargetServerError",
            EngineError::Transport(_) => "TargetUnreachable",
            EngineError::State(_) => "StateStoreFailed",
        }
    }
}
