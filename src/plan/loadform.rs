//! The AWS Marketplace product load form values: computed once, shown in the PR body, and
//! written as a CSV (one row per field) for the person filling the form.

use serde::Serialize;

use crate::config::{LoadForm, SecurityGroupRule};

/// One field of the load form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// The field's name, as the form calls it.
    pub label: String,
    /// Its value.
    pub value: String,
    /// Whether the value is an identifier (an AMI ID, an ARN), shown as code.
    pub code: bool,
}

/// The us-east-1 AMI of one architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceAmi {
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// The AMI ID in us-east-1.
    pub ami: String,
}

/// A security group rule as the form lists it: `tcp 7474 from 0.0.0.0/0 (HTTP)`.
pub fn describe_rule(rule: &SecurityGroupRule) -> String {
    let ports = if rule.from_port == rule.to_port {
        rule.from_port.to_string()
    } else {
        format!("{}-{}", rule.from_port, rule.to_port)
    };
    let mut text = format!("{} {ports} from {}", rule.protocol, rule.cidr);
    if let Some(description) = &rule.description {
        text.push_str(&format!(" ({description})"));
    }
    text
}

/// The load form fields in the form's order. `version_title` and `release_notes` are already
/// rendered; `us_east_1` has one AMI per architecture.
pub fn fields(
    form: &LoadForm,
    version_title: &str,
    release_notes: &str,
    us_east_1: &[SourceAmi],
) -> Vec<Field> {
    let field = |label: &str, value: String| Field {
        label: label.to_owned(),
        value,
        code: false,
    };
    let mut fields = vec![
        field("Version title", version_title.to_owned()),
        field("Release notes", release_notes.trim().to_owned()),
    ];
    for image in us_east_1 {
        let label = if us_east_1.len() > 1 {
            format!("AMI ID (us-east-1, {})", image.architecture)
        } else {
            "AMI ID (us-east-1)".to_owned()
        };
        fields.push(Field {
            label,
            value: image.ami.clone(),
            code: true,
        });
    }
    fields.extend([
        Field {
            code: true,
            ..field("IAM access role ARN", form.access_role_arn.to_string())
        },
        field("OS user name", form.os_user_name.clone()),
        field("Operating system name", form.os_name.clone()),
        field("Operating system version", form.os_version.clone()),
        field(
            "Recommended instance type",
            form.recommended_instance_type.to_string(),
        ),
        field(
            "Security group rules",
            form.security_groups
                .iter()
                .map(describe_rule)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        field(
            "Usage instructions",
            form.usage_instructions.trim().to_owned(),
        ),
        field(
            "CloudFormation template URL",
            form.template_url
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
        field(
            "Architecture diagram URL",
            form.architecture_diagram_url
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
    ]);
    fields
}

/// The fields as CSV: a `Field,Value` header, then one row per field. A cell a spreadsheet
/// would run as a formula is written with a leading `'` (see [`formula_safe`]).
pub fn to_csv(fields: &[Field]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["Field", "Value"])
        .expect("writing to memory");
    for field in fields {
        writer
            .write_record([&*formula_safe(&field.label), &*formula_safe(&field.value)])
            .expect("writing to memory");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory"))
        .expect("CSV of UTF-8 strings")
}

/// A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`,
/// so that a spreadsheet shows it as text instead of running it as a formula (OWASP, "CSV
/// Injection": <https://owasp.org/www-community/attacks/CSV_Injection>). Release notes and
/// other values come from the config and the repository, and the CSV is opened by the person
/// who fills the form.
pub fn formula_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_a_spreadsheet_would_run_start_with_a_quote() {
        let rows: Vec<Field> = [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "a=b",
        ]
        .iter()
        .map(|v| Field {
            label: "Release notes".into(),
            value: (*v).into(),
            code: false,
        })
        .collect();
        let csv = to_csv(&rows);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let values: Vec<String> = reader.records().map(|r| r.unwrap()[1].to_owned()).collect();
        assert_eq!(
            values,
            [
                "'=HYPERLINK(\"http://x\")",
                "'+1",
                "'-2",
                "'@SUM(A1)",
                "'\tx",
                "'\rx",
                "a=b"
            ]
        );
    }

    fn form() -> LoadForm {
        let config = crate::config::Config::parse(
            crate::config::tests_support::MINIMAL,
            std::path::Path::new("c.yml"),
        )
        .unwrap();
        config.load_form
    }

    #[test]
    fn fields_follow_the_form_and_name_each_architecture() {
        let one = fields(
            &form(),
            "1.0",
            "Fixes.\n",
            &[SourceAmi {
                architecture: "x86_64".into(),
                ami: "ami-0123456789abcdef0".into(),
            }],
        );
        let labels: Vec<&str> = one.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            labels[..3],
            ["Version title", "Release notes", "AMI ID (us-east-1)"]
        );
        assert_eq!(
            one.iter()
                .find(|f| f.label == "Security group rules")
                .unwrap()
                .value,
            "tcp 22 from 0.0.0.0/0"
        );
        let two = fields(
            &form(),
            "1.0",
            "x",
            &[
                SourceAmi {
                    architecture: "x86_64".into(),
                    ami: "ami-1".into(),
                },
                SourceAmi {
                    architecture: "arm64".into(),
                    ami: "ami-2".into(),
                },
            ],
        );
        assert!(two
            .iter()
            .any(|f| f.label == "AMI ID (us-east-1, arm64)" && f.value == "ami-2"));
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let csv = to_csv(&[Field {
            label: "Release notes".into(),
            value: "Line one, \"quoted\"\nline two".into(),
            code: false,
        }]);
        assert_eq!(
            csv,
            "Field,Value\nRelease notes,\"Line one, \"\"quoted\"\"\nline two\"\n"
        );
    }
}
