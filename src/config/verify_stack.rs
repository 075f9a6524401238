//! `verify.stack`: the regenerated template launched as a test stack, under a CloudFormation
//! service role the user provides, with the user's parameters. Secrets are never in the
//! config: a parameter's value is either written out or read from an environment variable
//! (`{env: NAME}`), and a parameter the template declares `NoEcho` must come from one.
//!
//! ```yaml
//! verify:
//!   stack:
//!     region: us-east-1
//!     role-arn: arn:aws:iam::123456789012:role/marketplace-release-verify-stack
//!     template: cfn/product.template.yaml
//!     parameters:
//!       InstanceType: r6i.large
//!       Password: {env: PRODUCT_PASSWORD}
//!     check-url-output: BrowserUrl
//! ```

use std::borrow::Cow;

use indexmap::IndexMap;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};

use super::types::{checked_string, Invalid, Minutes, RoleArn, WorkspacePath};
use crate::domain::ami::Region;
pub use crate::domain::stack_parameter::ResolvedParameter;
use crate::template::StackInterface;

/// The optional test stack of the verify stage.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct StackConfig {
    /// The region the stack is created in; the AMI must exist there (the build region, or a
    /// region it is copied to before the stack is launched).
    pub region: Region,
    /// The CloudFormation service role the stack is created and deleted under: it needs the
    /// rights to create (and tag) the template's resources and delete them; the release role
    /// only passes it. The shipped policy passes roles named `marketplace-release-verify-…`
    /// (see the README's IAM policy section).
    pub role_arn: StackRoleArn,
    /// The template to launch, one of `templates` (its regenerated text is launched). At most
    /// 51,200 bytes: CreateStack takes no larger template body.
    pub template: WorkspacePath,
    /// The stack's parameters, by name: a value, or `{env: NAME}` to read it from the
    /// environment variable NAME when the stack is created (in a workflow, set NAME from a
    /// secret in the step's `env`). A parameter the template declares `NoEcho` must be read
    /// from the environment. Parameters with a default may be left out.
    #[serde(default)]
    pub parameters: IndexMap<ParameterName, ParameterValue>,
    /// The capabilities the template needs acknowledged (`CAPABILITY_IAM` when it creates IAM
    /// resources, `CAPABILITY_NAMED_IAM` when it names them, `CAPABILITY_AUTO_EXPAND` for
    /// macros and transforms).
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// How long the stack may take to reach CREATE_COMPLETE, and its deletion to finish
    /// (minutes).
    #[serde(default = "default_stack_minutes")]
    pub timeout_minutes: Minutes,
    /// The name of a stack output whose value is a URL that must answer HTTP 2xx or 3xx once
    /// the stack is created.
    #[serde(default)]
    pub check_url_output: Option<ParameterName>,
    /// How long the URL of `check-url-output` may take to answer (minutes).
    #[serde(default = "default_url_minutes")]
    pub check_url_timeout_minutes: Minutes,
}

fn default_stack_minutes() -> Minutes {
    Minutes::new(30.0).expect("valid minutes")
}

fn default_url_minutes() -> Minutes {
    Minutes::new(5.0).expect("valid minutes")
}

/// The ARN of the CloudFormation service role of the test stack: an IAM role ARN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct StackRoleArn(RoleArn);

impl StackRoleArn {
    /// Checks `text`.
    pub fn new(text: &str) -> Result<Self, Invalid> {
        RoleArn::new(text).map(Self).map_err(|e| {
            Invalid::new(
                e.message,
                "give the ARN of the CloudFormation service role the test stack runs under, like arn:aws:iam::123456789012:role/marketplace-release-verify-stack",
            )
        })
    }

    /// The ARN.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl<'de> Deserialize<'de> for StackRoleArn {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Self::new(&String::deserialize(de)?).map_err(Invalid::into_de)
    }
}

impl JsonSchema for StackRoleArn {
    fn schema_name() -> Cow<'static, str> {
        "StackRoleArn".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": "IAM role ARN",
            "type": "string",
            "pattern": RoleArn::PATTERN,
            "examples": ["arn:aws:iam::123456789012:role/marketplace-release-verify-stack"],
        })
    }
}

checked_string! {
    /// A template parameter or output name: letters and digits (CloudFormation's logical IDs).
    ParameterName {
        title: "parameter or output name",
        pattern: r"^[A-Za-z0-9]{1,255}$",
        is_not: "a template parameter or output name (letters and digits)",
        help: "write the name as the template's Parameters or Outputs section has it, like InstanceType",
        example: "InstanceType",
    }
}

checked_string! {
    /// The name of an environment variable.
    EnvName {
        title: "environment variable",
        pattern: r"^[A-Za-z_][A-Za-z0-9_]*$",
        is_not: "an environment variable name",
        help: "write it like PRODUCT_PASSWORD (letters, digits and underscores)",
        example: "PRODUCT_PASSWORD",
    }
}

/// A CloudFormation capability a template may need acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Capability {
    /// The template creates IAM resources.
    #[serde(rename = "CAPABILITY_IAM")]
    Iam,
    /// The template creates IAM resources with custom names.
    #[serde(rename = "CAPABILITY_NAMED_IAM")]
    NamedIam,
    /// The template uses macros or transforms.
    #[serde(rename = "CAPABILITY_AUTO_EXPAND")]
    AutoExpand,
}

impl Capability {
    /// The name CreateStack takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Iam => "CAPABILITY_IAM",
            Capability::NamedIam => "CAPABILITY_NAMED_IAM",
            Capability::AutoExpand => "CAPABILITY_AUTO_EXPAND",
        }
    }
}

/// A parameter's value: written out, or read from an environment variable when the stack is
/// created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ParameterValue {
    /// The value as written (numbers and booleans as YAML writes them).
    Literal(String),
    /// `{env: NAME}`: the value of the environment variable NAME.
    Env {
        /// The variable.
        env: EnvName,
    },
}

impl<'de> Deserialize<'de> for ParameterValue {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let shape = || {
            Invalid::new(
                "a parameter value is a string, a number, a boolean, or {env: NAME}",
                "write the value, or {env: NAME} to read it from the environment variable NAME",
            )
        };
        let literal = match serde_json::Value::deserialize(de)? {
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Object(map) => {
                return match (map.len(), map.get("env")) {
                    (1, Some(serde_json::Value::String(name))) => Ok(Self::Env {
                        env: EnvName::new(name).map_err(Invalid::into_de)?,
                    }),
                    _ => Err(shape().into_de()),
                }
            }
            _ => return Err(shape().into_de()),
        };
        if literal.contains("${{") {
            return Err(Invalid::new(
                format!("`{literal}` is a workflow expression, which the config file does not evaluate"),
                "write {env: NAME} and set NAME in the workflow step's env, like `env: {NAME: ${{ secrets.NAME }}}`",
            )
            .into_de());
        }
        Ok(Self::Literal(literal))
    }
}

impl JsonSchema for ParameterValue {
    fn schema_name() -> Cow<'static, str> {
        "ParameterValue".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let env = generator.subschema_for::<EnvName>();
        json_schema!({
            "title": "parameter value",
            "description": "A value, or {env: NAME} to read it from the environment variable NAME when the stack is created.",
            "oneOf": [
                {"type": ["string", "number", "boolean"]},
                {
                    "type": "object",
                    "properties": {"env": env},
                    "required": ["env"],
                    "additionalProperties": false,
                },
            ],
        })
    }
}

impl StackConfig {
    /// Checks the parameters against what the template declares and reads the environment
    /// variables, before anything is created: every parameter named must exist in the
    /// template, every parameter without a default must be given, a `NoEcho` parameter must
    /// come from the environment, every variable must be set, and `check-url-output` must be
    /// one of the template's outputs. All problems are reported at once.
    pub fn resolve(
        &self,
        template: &StackInterface,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<ResolvedParameter>, Invalid> {
        let path = self.template.display();
        let mut problems = Vec::new();
        let mut resolved = Vec::new();
        for (name, value) in &self.parameters {
            let Some(declared) = template.parameters.iter().find(|p| p.name == name.as_str())
            else {
                let known: Vec<&str> = template
                    .parameters
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect();
                let hint = crate::template::did_you_mean(name.as_str(), known.iter().copied())
                    .map(|m| format!(" (did you mean `{m}`?)"))
                    .unwrap_or_default();
                problems.push(format!(
                    "verify.stack.parameters.{name}: {path} declares no parameter `{name}`{hint}"
                ));
                continue;
            };
            match value {
                ParameterValue::Literal(_) if declared.no_echo => problems.push(format!(
                    "verify.stack.parameters.{name}: {path} declares `{name}` NoEcho (a secret), so its value may not be written in the config; write {{env: NAME}} and set NAME from a secret"
                )),
                ParameterValue::Literal(text) => resolved.push(ResolvedParameter {
                    name: name.to_string(),
                    value: text.clone().into(),
                    secret: false,
                }),
                ParameterValue::Env { env: variable } => match env(variable.as_str()) {
                    Some(text) if !text.is_empty() => resolved.push(ResolvedParameter {
                        name: name.to_string(),
                        value: text.into(),
                        secret: true,
                    }),
                    _ => problems.push(format!(
                        "verify.stack.parameters.{name}: the environment variable {variable} is not set or empty; in a workflow, set it in the step's env (like `{variable}: ${{{{ secrets.{variable} }}}}`)"
                    )),
                },
            }
        }
        for declared in &template.parameters {
            let given = self.parameters.keys().any(|k| k.as_str() == declared.name);
            if !declared.has_default && !given {
                problems.push(format!(
                    "verify.stack.parameters: {path} has no default for `{}`; give it a value",
                    declared.name
                ));
            }
        }
        if let Some(output) = &self.check_url_output {
            if !template.outputs.iter().any(|o| o == output.as_str()) {
                problems.push(format!(
                    "verify.stack.check-url-output: {path} has no output `{output}` (its outputs: {})",
                    if template.outputs.is_empty() { "none".to_owned() } else { template.outputs.join(", ") }
                ));
            }
        }
        if problems.is_empty() {
            Ok(resolved)
        } else {
            Err(Invalid::new(
                problems.join("\n"),
                "fix verify.stack to match the template's Parameters and Outputs; nothing was created",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r"
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  InstanceType:
    Type: String
    Default: t3.medium
  Password:
    Type: String
    NoEcho: true
  Port:
    Type: Number
Resources:
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: test
Outputs:
  BrowserUrl:
    Value: !Sub 'http://localhost:${Port}/'
";

    fn interface() -> StackInterface {
        crate::template::Template::parse(TEMPLATE)
            .unwrap()
            .stack_interface()
    }

    /// The config of the keys in `extra` (`, key: value, …`) laid over a minimal one.
    fn config(extra: &str) -> Result<StackConfig, String> {
        let mut base: serde_yaml::Mapping = serde_yaml::from_str(
            "{region: us-east-1, role-arn: 'arn:aws:iam::123456789012:role/verify', template: cfn/t.yaml}",
        )
        .unwrap();
        let extra: serde_yaml::Mapping =
            serde_yaml::from_str(&format!("{{{}}}", extra.trim_start_matches(','))).unwrap();
        base.extend(extra);
        serde_yaml::from_value(serde_yaml::Value::Mapping(base)).map_err(|e| e.to_string())
    }

    #[test]
    fn the_template_s_parameters_and_outputs_are_read() {
        let interface = interface();
        let names: Vec<(&str, bool, bool)> = interface
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p.has_default, p.no_echo))
            .collect();
        assert_eq!(
            names,
            [
                ("InstanceType", true, false),
                ("Password", false, true),
                ("Port", false, false)
            ]
        );
        assert_eq!(interface.outputs, ["BrowserUrl"]);
    }

    #[test]
    fn defaults_and_values() {
        let c =
            config(", parameters: {Port: 7474, Password: {env: PRODUCT_PASSWORD}, Debug: true}")
                .unwrap();
        assert_eq!(c.timeout_minutes, 30.0);
        assert_eq!(c.check_url_timeout_minutes, 5.0);
        assert!(c.capabilities.is_empty());
        let values: Vec<(&str, &ParameterValue)> =
            c.parameters.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(values[0], ("Port", &ParameterValue::Literal("7474".into())));
        assert_eq!(
            values[1].1,
            &ParameterValue::Env {
                env: EnvName::new("PRODUCT_PASSWORD").unwrap()
            }
        );
        assert_eq!(values[2].1, &ParameterValue::Literal("true".into()));
        let c = config(", capabilities: [CAPABILITY_NAMED_IAM], check-url-output: BrowserUrl, timeout-minutes: 10").unwrap();
        assert_eq!(c.capabilities, [Capability::NamedIam]);
        assert_eq!(c.check_url_output.unwrap().as_str(), "BrowserUrl");
    }

    #[test]
    fn bad_values_are_refused_with_their_reason() {
        for (extra, why) in [
            (
                ", role-arn: arn:aws:iam::123:role/x",
                "is not an IAM role ARN",
            ),
            (
                ", parameters: {Password: {env: 1BAD}}",
                "is not an environment variable name",
            ),
            (
                ", parameters: {Password: {env: A, other: B}}",
                "a parameter value is",
            ),
            (", parameters: {Password: [a]}", "a parameter value is"),
            (
                ", parameters: {Password: '${{ secrets.PASSWORD }}'}",
                "workflow expression",
            ),
            (
                ", parameters: {'Bad-Name': x}",
                "is not a template parameter or output name",
            ),
            (", capabilities: [CAPABILITY_ALL]", "unknown variant"),
            (", timeout-minutes: 0", "is not a number of minutes"),
            (", stack-name: mine", "unknown field `stack-name`"),
        ] {
            let e = config(extra).unwrap_err();
            assert!(e.contains(why), "{extra}: {e}");
        }
        let e = config(", role-arn: nope").unwrap_err();
        assert!(e.contains("CloudFormation service role"), "{e}");
    }

    #[test]
    fn parameters_resolve_from_the_environment() {
        let c = config(", parameters: {Port: 7474, Password: {env: PRODUCT_PASSWORD}}").unwrap();
        let resolved = c
            .resolve(&interface(), |name| {
                (name == "PRODUCT_PASSWORD").then(|| "s3cret".into())
            })
            .unwrap();
        let shown: Vec<(&str, &str, bool)> = resolved
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    secrecy::ExposeSecret::expose_secret(&p.value),
                    p.secret,
                )
            })
            .collect();
        assert_eq!(
            shown,
            [("Port", "7474", false), ("Password", "s3cret", true)]
        );
        assert!(
            !format!("{resolved:?}").contains("s3cret"),
            "secrets stay out of Debug"
        );
    }

    #[test]
    fn every_mismatch_with_the_template_is_reported_at_once() {
        let c = config(
            ", parameters: {Pasword: x, Password: hunter2, InstanceType: {env: UNSET}}, check-url-output: Url",
        )
        .unwrap();
        let e = c.resolve(&interface(), |_| None).unwrap_err();
        for expected in [
            "declares no parameter `Pasword` (did you mean `Password`?)",
            "declares `Password` NoEcho (a secret)",
            "the environment variable UNSET is not set or empty",
            "has no default for `Port`",
            "has no output `Url` (its outputs: BrowserUrl)",
        ] {
            assert!(e.message.contains(expected), "{expected}: {}", e.message);
        }
        assert!(e.help.contains("nothing was created"));
    }
}
