//! A parameter of the verify stage's test stack, ready for CreateStack: what the config's
//! `verify.stack.parameters` resolve to and what the CloudFormation adapter sends.

/// A parameter ready for CreateStack: its name and value, and whether the value is a secret
/// (from the environment, or `NoEcho`), which is never shown.
#[derive(Clone)]
pub struct ResolvedParameter {
    /// The name.
    pub name: String,
    /// The value.
    pub value: secrecy::SecretString,
    /// Whether it came from the environment or the template hides it.
    pub secret: bool,
}

impl std::fmt::Debug for ResolvedParameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedParameter")
            .field("name", &self.name)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}
