//! Editor behaviour on small, hand-written templates: one shape per test.

use super::*;
use crate::domain::ami::AmiSet;

const A1: &str = "ami-0aaaaaaaaaaaaaaa1";
const A2: &str = "ami-0aaaaaaaaaaaaaaa2";
const A3: &str = "ami-0aaaaaaaaaaaaaaa3";

fn amis(json: &str) -> AmiSet {
    AmiSet::from_json(json).unwrap()
}

fn edit(text: &str, request: EditRequest) -> Result<Edited, TemplateError> {
    Template::parse(text)?.edit(&request)
}

fn edit_ok(text: &str, request: EditRequest) -> String {
    let edited = edit(text, request.clone()).unwrap_or_else(|e| panic!("{e}"));
    // Every successful edit is idempotent.
    let again = edit(&edited.text, request).unwrap_or_else(|e| panic!("second run: {e}"));
    assert_eq!(again.text, edited.text, "not idempotent");
    assert!(
        !again.changed
            && again
                .changes
                .iter()
                .all(|c| !matches!(c, Change::RegionAdded { .. }))
    );
    edited.text
}

fn request(json: &str) -> EditRequest {
    EditRequest {
        amis: amis(json),
        ..Default::default()
    }
}

fn with_version(json: &str, version: &str) -> EditRequest {
    EditRequest {
        version: Some(crate::domain::version::Version::new(version).unwrap()),
        ..request(json)
    }
}

const BLOCK: &str = "\
# header comment
Parameters:
  ProductVersion:
    Type: String
    Default: \"1.2.3\"   # keep me
Resources:
  I:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: !FindInMap [AMIs, !Ref 'AWS::Region', BYOL]
Mappings:
  AMIs:
    us-east-1:
      BYOL: ami-11111111   # current
    eu-west-1:
      BYOL: 'ami-22222222'
";

#[test]
fn replaces_values_keeping_quotes_and_comments() {
    let out = edit_ok(
        BLOCK,
        request(&format!(r#"{{"us-east-1": "{A1}", "eu-west-1": "{A2}"}}"#)),
    );
    let expected = BLOCK
        .replace("ami-11111111", A1)
        .replace("ami-22222222", A2);
    assert_eq!(out, expected);
}

#[test]
fn appends_new_regions_in_input_order_in_block_style() {
    let out = edit_ok(
        BLOCK,
        request(&format!(
            r#"{{"us-east-1": "{A1}", "ap-south-2": "{A2}", "ca-west-1": "{A3}"}}"#
        )),
    );
    let expected = BLOCK.replace("ami-11111111", A1).replace(
        "      BYOL: 'ami-22222222'\n",
        &format!("      BYOL: 'ami-22222222'\n    ap-south-2:\n      BYOL: {A2}\n    ca-west-1:\n      BYOL: {A3}\n"),
    );
    assert_eq!(out, expected);
}

#[test]
fn inserts_in_order_when_regions_are_sorted() {
    let text = "Mappings:\n  M:\n    ap-south-1:\n      K: ami-11111111\n    eu-west-1:\n      K: ami-22222222\n    us-east-1:\n      K: ami-33333333\n";
    let out = edit_ok(
        text,
        request(&format!(
            r#"{{"us-west-2": "{A1}", "af-south-1": "{A2}", "eu-central-1": "{A3}"}}"#
        )),
    );
    let regions: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("      "))
        .map(str::trim)
        .collect();
    assert_eq!(
        regions,
        [
            "af-south-1:",
            "ap-south-1:",
            "eu-central-1:",
            "eu-west-1:",
            "us-east-1:",
            "us-west-2:"
        ]
    );
}

#[test]
fn sets_only_the_version_parameter() {
    let text = "Metadata:\n  Labels:\n    ProductVersion:\n      default: Product Version\n"
        .to_owned()
        + BLOCK;
    let out = edit_ok(
        &text,
        with_version(&format!(r#"{{"us-east-1": "{A1}"}}"#), "2025.06.0"),
    );
    assert!(
        out.contains("    Default: \"2025.06.0\"   # keep me\n"),
        "{out}"
    );
    assert!(out.contains("      default: Product Version\n"));
}

#[test]
fn quotes_a_version_that_plain_yaml_would_read_as_a_number() {
    let text = BLOCK.replace("\"1.2.3\"", "1.2.3");
    let out = edit_ok(
        &text,
        with_version(&format!(r#"{{"us-east-1": "{A1}"}}"#), "5.1"),
    );
    assert!(out.contains("    Default: '5.1'   # keep me\n"), "{out}");
}

#[test]
fn prepends_the_version_to_allowed_values_in_both_styles() {
    let flow = "Parameters:\n  AppVersion:\n    Type: String\n    Default: '4.4.3'\n    AllowedValues: ['4.4.3','4.3.10']\nMappings:\n  M:\n    us-east-1:\n      BYOL: ami-11111111\n";
    let out = edit_ok(
        flow,
        with_version(&format!(r#"{{"us-east-1": "{A1}"}}"#), "4.4.4"),
    );
    assert!(
        out.contains("    Default: '4.4.4'\n    AllowedValues: ['4.4.4','4.4.3','4.3.10']\n"),
        "{out}"
    );
    let block = flow.replace(" ['4.4.3','4.3.10']", "\n      - 4.4.3\n      - 4.3.10");
    let out = edit_ok(
        &block,
        with_version(&format!(r#"{{"us-east-1": "{A1}"}}"#), "4.4.4"),
    );
    assert!(
        out.contains("    AllowedValues:\n      - 4.4.4\n      - 4.4.3\n"),
        "{out}"
    );
}

#[test]
fn ambiguous_version_parameters_are_listed() {
    let text = "Parameters:\n  ServerVersion:\n    Type: String\n    Default: 5.5.0\n  GatewayVersion:\n    Type: String\n    Default: 2.0.0\n  BloomVersion:\n    Type: String\n    Default: None\nMappings:\n  M:\n    us-east-1:\n      BYOL: ami-11111111\n";
    let err = edit(
        text,
        with_version(&format!(r#"{{"us-east-1": "{A1}"}}"#), "6.0.0"),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::VersionParameter);
    assert!(
        err.message.contains("ServerVersion")
            && err.message.contains("GatewayVersion")
            && !err.message.contains("BloomVersion"),
        "{err}"
    );
    let named = EditRequest {
        version_parameter: Some("GatewayVersion".into()),
        ..with_version(&format!(r#"{{"us-east-1": "{A1}"}}"#), "2.1.0")
    };
    let out = edit_ok(text, named);
    assert!(out.contains("Default: 2.1.0") && out.contains("Default: 5.5.0"));
    let typo = EditRequest {
        version_parameter: Some("GatewayVersoin".into()),
        ..with_version(&format!(r#"{{"us-east-1": "{A1}"}}"#), "2.1.0")
    };
    assert!(edit(text, typo)
        .unwrap_err()
        .help
        .contains("did you mean `GatewayVersion`"));
}

#[test]
fn ssm_image_parameter_gets_the_version_segment() {
    let text = "Parameters:\n  ImageId:\n    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>\n    # pinned per release\n    Default: /aws/service/marketplace/prod-abc123/2026.03.1\nResources: {}\n";
    let out = edit_ok(
        text,
        with_version(&format!(r#"{{"us-east-1": "{A1}"}}"#), "2026.04.0"),
    );
    assert_eq!(out, text.replace("2026.03.1", "2026.04.0"));
}

#[test]
fn literal_image_parameter_gets_the_us_east_1_ami() {
    let text = "Parameters:\n  ImageId:\n    Type: AWS::EC2::Image::Id\n    Default: ami-07f83a354c934b879\nResources: {}\n";
    let out = edit_ok(
        text,
        request(&format!(r#"{{"us-east-1": "{A1}", "eu-west-1": "{A2}"}}"#)),
    );
    assert_eq!(out, text.replace("ami-07f83a354c934b879", A1));
    let err = edit(text, request(&format!(r#"{{"eu-west-1": "{A2}"}}"#))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ImageParameter);
}

#[test]
fn several_keys_need_key_or_the_keyed_form() {
    let text = "Mappings:\n  Neo4j:\n    us-east-1:\n      AMD64: ami-11111111\n      ARM64: ami-22222222\n";
    let err = edit(text, request(&format!(r#"{{"us-east-1": "{A1}"}}"#))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Key);
    assert!(err.message.contains("AMD64, ARM64"), "{err}");
    let keyed = EditRequest {
        key: Some("ARM64".into()),
        ..request(&format!(r#"{{"us-east-1": "{A1}"}}"#))
    };
    assert_eq!(edit_ok(text, keyed), text.replace("ami-22222222", A1));
    let both = request(&format!(
        r#"{{"us-east-1": {{"AMD64": "{A1}", "ARM64": "{A2}"}}, "eu-west-1": {{"ARM64": "{A3}", "AMD64": "{A1}"}}}}"#
    ));
    let out = edit_ok(text, both);
    assert_eq!(out, format!("Mappings:\n  Neo4j:\n    us-east-1:\n      AMD64: {A1}\n      ARM64: {A2}\n    eu-west-1:\n      AMD64: {A1}\n      ARM64: {A3}\n"));
    let typo = EditRequest {
        key: Some("ARM46".into()),
        ..request(&format!(r#"{{"us-east-1": "{A1}"}}"#))
    };
    assert!(edit(text, typo)
        .unwrap_err()
        .help
        .contains("did you mean `ARM64`"));
}

#[test]
fn adds_a_missing_key_to_an_existing_region() {
    let text = "Mappings:\n  Neo4j:\n    us-east-1:\n      AMD64: ami-11111111\n";
    let out = edit_ok(
        text,
        request(&format!(r#"{{"us-east-1": {{"ARM64": "{A2}"}}}}"#)),
    );
    assert_eq!(out, format!("{text}      ARM64: {A2}\n"));
}

#[test]
fn flow_style_regions_stay_flow() {
    let text = "Mappings:\n  M:\n    us-east-1: {HVM64: ami-11111111, PV64: NOT_SUPPORTED}\n    eu-west-1: { HVM64: 'ami-22222222' }\n";
    let keyed = EditRequest {
        key: Some("HVM64".into()),
        ..request(&format!(r#"{{"us-east-1": "{A1}", "sa-east-1": "{A2}"}}"#))
    };
    let out = edit_ok(text, keyed);
    assert_eq!(out, format!("Mappings:\n  M:\n    us-east-1: {{HVM64: {A1}, PV64: NOT_SUPPORTED}}\n    eu-west-1: {{ HVM64: 'ami-22222222' }}\n    sa-east-1: {{HVM64: {A2}}}\n"));
}

#[test]
fn whole_flow_mapping_gets_comma_separated_entries() {
    let text = "Mappings:\n  M: {us-east-1: {K: ami-11111111}}\n";
    let out = edit_ok(
        text,
        request(&format!(r#"{{"us-east-1": "{A1}", "eu-west-1": "{A2}"}}"#)),
    );
    assert_eq!(
        out,
        format!("Mappings:\n  M: {{us-east-1: {{K: {A1}}}, eu-west-1: {{K: {A2}}}}}\n")
    );
}

#[test]
fn prune_removes_unlisted_regions_only() {
    let text = "Mappings:\n  M:\n    AMI:\n      K: some-name\n    us-east-1:\n      K: ami-11111111\n    eu-west-1:\n      K: ami-22222222\n    # trailing comment\n    ap-south-1:\n      K: ami-33333333";
    let pruned = EditRequest {
        prune: true,
        ..request(&format!(r#"{{"us-east-1": "{A1}"}}"#))
    };
    let out = edit_ok(text, pruned);
    // The comment sits inside the pruned run of regions, so it goes with them.
    assert_eq!(
        out,
        format!("Mappings:\n  M:\n    AMI:\n      K: some-name\n    us-east-1:\n      K: {A1}")
    );
    let everything = EditRequest {
        prune: true,
        ..request(&format!(r#"{{"ca-west-1": "{A1}"}}"#))
    };
    assert_eq!(
        edit(text, everything).unwrap().text.matches("ami-").count(),
        1
    );
}

#[test]
fn prune_of_every_region_with_nothing_left_is_refused() {
    let text = "Mappings:\n  M:\n    us-east-1:\n      K: ami-11111111\n";
    let err = edit(
        text,
        EditRequest {
            prune: true,
            ..request(&format!(r#"{{"eu-west-1": "{A1}"}}"#))
        },
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Request);
}

const JSON_CRLF: &str = "{\r\n  \"Mappings\": {\r\n    \"Server\": {\r\n      \"us-east-1\": { \"BYOL\": \"ami-11111111\", \"Hourly\": \"ami-11111111\" },\r\n      \"us-west-2\": { \"BYOL\": \"ami-22222222\", \"Hourly\": \"ami-22222222\" }\r\n    }\r\n  }\r\n}";

#[test]
fn json_insert_and_prune_keep_commas_crlf_and_missing_newline() {
    let req = request(&format!(
        r#"{{"us-east-1": {{"BYOL": "{A1}", "Hourly": "{A2}"}}, "eu-west-1": {{"Hourly": "{A3}", "BYOL": "{A1}"}}}}"#
    ));
    let out = edit_ok(JSON_CRLF, EditRequest { prune: true, ..req });
    // The regions are sorted, so eu-west-1 goes first; us-west-2 is pruned with its comma.
    let expected = format!("{{\r\n  \"Mappings\": {{\r\n    \"Server\": {{\r\n      \"eu-west-1\": {{ \"BYOL\": \"{A1}\", \"Hourly\": \"{A3}\" }},\r\n      \"us-east-1\": {{ \"BYOL\": \"{A1}\", \"Hourly\": \"{A2}\" }}\r\n    }}\r\n  }}\r\n}}");
    assert_eq!(out, expected);
    serde_json::from_str::<serde_json::Value>(&out).unwrap();
}

#[test]
fn json_multiline_objects_and_sorted_insert_before_first() {
    let text = "{\n    \"Mappings\": {\n        \"M\": {\n            \"eu-west-1\": {\n                \"64\": \"ami-11111111\"\n            },\n            \"us-east-1\": {\n                \"64\": \"ami-22222222\"\n            }\n        }\n    }\n}\n";
    let out = edit_ok(text, request(&format!(r#"{{"ap-south-1": "{A1}"}}"#)));
    assert!(out.contains(&format!("        \"M\": {{\n            \"ap-south-1\": {{\n                \"64\": \"{A1}\"\n            }},\n            \"eu-west-1\": {{")), "{out}");
}

#[test]
fn crlf_yaml_gets_crlf_lines() {
    let text = BLOCK.replace('\n', "\r\n");
    let out = edit_ok(&text, request(&format!(r#"{{"sa-east-1": "{A1}"}}"#)));
    assert!(
        out.ends_with(&format!(
            "      BYOL: 'ami-22222222'\r\n    sa-east-1:\r\n      BYOL: {A1}\r\n"
        )),
        "{out:?}"
    );
    assert!(!out.replace("\r\n", "").contains('\n'));
}

#[test]
fn missing_final_newline_stays_missing() {
    let text = BLOCK.trim_end();
    let out = edit_ok(text, request(&format!(r#"{{"sa-east-1": "{A1}"}}"#)));
    assert!(
        out.ends_with(&format!(
            "      BYOL: 'ami-22222222'\n    sa-east-1:\n      BYOL: {A1}"
        )),
        "{out:?}"
    );
}

#[test]
fn mapping_detection_and_errors() {
    let two = "Mappings:\n  A:\n    us-east-1:\n      K: ami-11111111\n  B:\n    us-east-1:\n      K: ami-22222222\n  Types:\n    t3.micro:\n      Arch: HVM64\n";
    let err = edit(two, request(&format!(r#"{{"us-east-1": "{A1}"}}"#))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::MappingAmbiguous);
    assert!(
        err.message.contains("A (1 regions")
            && err.message.contains("B (1 regions")
            && !err.message.contains("Types"),
        "{err}"
    );
    assert_eq!(err.location.map(|l| l.line), Some(1));
    let named = EditRequest {
        mapping: Some("B".into()),
        ..request(&format!(r#"{{"us-east-1": "{A1}"}}"#))
    };
    assert_eq!(edit_ok(two, named), two.replace("ami-22222222", A1));
    let typo = EditRequest {
        mapping: Some("b".into()),
        ..request(&format!(r#"{{"us-east-1": "{A1}"}}"#))
    };
    let err = edit(two, typo).unwrap_err();
    assert_eq!(err.kind, ErrorKind::MappingNotFound);
    assert!(err.help.contains("did you mean `B`"), "{err}");
    let none = "Resources:\n  B:\n    Type: AWS::S3::Bucket\n";
    assert_eq!(
        edit(none, request(&format!(r#"{{"us-east-1": "{A1}"}}"#)))
            .unwrap_err()
            .kind,
        ErrorKind::NothingToUpdate
    );
}

#[test]
fn anchors_inside_the_mapping_are_refused_with_a_location() {
    let text =
        "Mappings:\n  M:\n    us-east-1: &base\n      K: ami-11111111\n    eu-west-1: *base\n";
    let err = edit(text, request(&format!(r#"{{"us-east-1": "{A1}"}}"#))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::AnchorOrAlias);
    assert_eq!(err.location.map(|l| l.line), Some(3));
}

#[test]
fn syntax_errors_have_line_and_column() {
    let err = Template::parse("Mappings:\n  M:\n    us-east-1: [a, b\n    eu-west-1: x\n")
        .err()
        .unwrap();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert!(err.location.is_some_and(|l| l.line >= 3), "{err}");
    let err = Template::parse("{\n  \"a\": 1,\n  \"b\": ]\n}")
        .err()
        .unwrap();
    assert_eq!(err.location.map(|l| l.line), Some(3), "{err}");
    let err = Template::parse_bytes(b"a: 1\nb: \xff\n").err().unwrap();
    assert_eq!(err.kind, ErrorKind::NotUtf8);
    assert_eq!(err.location.map(|l| l.line), Some(2));
    assert_eq!(
        Template::parse("- a\n- b\n").err().unwrap().kind,
        ErrorKind::NotATemplate
    );
}

#[test]
fn region_that_is_not_a_mapping_is_refused() {
    let text =
        "Mappings:\n  M:\n    us-east-1:\n      K: ami-11111111\n    eu-west-1: ami-22222222\n";
    let named = EditRequest {
        mapping: Some("M".into()),
        ..request(&format!(r#"{{"eu-west-1": "{A1}"}}"#))
    };
    let err = edit(text, named).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Shape);
    assert_eq!(err.location.map(|l| l.line), Some(5));
}

#[test]
fn short_tags_and_block_scalars_elsewhere_are_untouched() {
    let text = "Resources:\n  I:\n    Properties:\n      UserData: !Base64\n        Fn::Sub: |\n          echo ${AWS::Region}\n      ImageId: !FindInMap\n        - M\n        - !Ref AWS::Region\n        - K\nMappings:\n  M:\n    us-east-1:\n      K: ami-11111111\n";
    assert_eq!(
        edit_ok(text, request(&format!(r#"{{"us-east-1": "{A1}"}}"#))),
        text.replace("ami-11111111", A1)
    );
}

#[test]
fn nothing_to_change_gives_identical_bytes() {
    let edited = edit(BLOCK, request(r#"{"us-east-1": "ami-11111111"}"#)).unwrap();
    assert!(!edited.changed);
    assert_eq!(edited.text, BLOCK);
    assert!(edited.changes.is_empty());
}

/// JSON that only a YAML parser reads: a trailing comma, a raw line break in a string.
const JSON_LOOKING_YAML: &str = "{\n  \"Description\": \"Sample with a\n    raw line break\",\n  \"Mappings\": {\n    \"AMIs\": {\n      \"us-east-1\": { \"HVM64\": \"ami-11111111\" },\n      \"eu-west-1\": { \"HVM64\": \"ami-22222222\" },\n    },\n  },\n}\n";

#[test]
fn json_looking_yaml_is_edited_as_yaml_in_its_own_style() {
    let template = Template::parse(JSON_LOOKING_YAML).unwrap();
    assert_eq!(template.format(), Format::Yaml);
    let out = edit_ok(
        JSON_LOOKING_YAML,
        request(&format!(r#"{{"us-east-1": "{A1}", "sa-east-1": "{A2}"}}"#)),
    );
    let expected = JSON_LOOKING_YAML.replace("ami-11111111", A1).replace(
        "      \"eu-west-1\": { \"HVM64\": \"ami-22222222\" },\n",
        &format!("      \"eu-west-1\": {{ \"HVM64\": \"ami-22222222\" }},\n      \"sa-east-1\": {{ \"HVM64\": \"{A2}\" }},\n"),
    );
    assert_eq!(out, expected);
    // Strict JSON stays JSON.
    let strict = JSON_CRLF;
    assert_eq!(Template::parse(strict).unwrap().format(), Format::Json);
}

#[test]
fn json_that_no_reader_takes_names_both_places() {
    let err = Template::parse("{\n  \"a\": [1,\n  \"b\": 2\n}\n")
        .err()
        .unwrap();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert!(err.location.is_some(), "{err}");
    assert!(
        err.message.starts_with("JSON syntax error")
            && err.message.contains("read as YAML")
            && err.message.contains(", column "),
        "{err}"
    );
}

#[test]
fn quoted_and_plain_scalars_spanning_lines_are_read_as_libyaml_reads_them() {
    // As in an AWS sample template: the quoted Description's continuation lines start at the
    // key's column, which strict YAML 1.2 refuses and libyaml, PyYAML and cfn-lint accept.
    let text = "Description: \"A sample template that spans\nlines without indentation\"\nParameters:\n  ProductVersion:\n    Type: String\n    Description: 'one\n    two'\n    Default: 1.2.3\nMappings:\n  AMIs:\n    us-east-1:\n      BYOL: ami-11111111\n";
    let out = edit_ok(
        text,
        with_version(&format!(r#"{{"us-east-1": "{A1}"}}"#), "1.2.4"),
    );
    assert_eq!(
        out,
        text.replace("ami-11111111", A1).replace("1.2.3", "1.2.4")
    );
}

#[test]
fn duplicate_keys_on_an_edited_path_are_refused_with_both_places() {
    let req = || request(&format!(r#"{{"us-east-1": "{A1}"}}"#));
    let region = "Mappings:\n  M:\n    us-east-1:\n      K: ami-11111111\n    eu-west-1:\n      K: ami-22222222\n    us-east-1:\n      K: ami-33333333\n";
    let err = edit(region, req()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::DuplicateKey);
    assert_eq!(err.location.map(|l| l.line), Some(7));
    assert!(
        err.message.contains("`Mappings.M.us-east-1`")
            && err.message.contains("line 3, column 5")
            && err.message.contains("line 7, column 5")
            && err.message.contains("uses the last"),
        "{err}"
    );
    let key = "{\"Mappings\": {\"M\": {\"us-east-1\": {\"K\": \"ami-11111111\", \"K\": \"ami-33333333\"}}}}";
    let err = edit(key, req()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::DuplicateKey, "{err}");
    assert!(err.message.contains("`Mappings.M.us-east-1.K`"), "{err}");
    let mappings = "Mappings:\n  M:\n    us-east-1:\n      K: ami-11111111\nMappings:\n  M:\n    us-east-1:\n      K: ami-33333333\n";
    assert_eq!(
        edit(mappings, req()).unwrap_err().kind,
        ErrorKind::DuplicateKey
    );
    let default = "Parameters:\n  ProductVersion:\n    Type: String\n    Default: 1.0.0\n    Default: 1.0.1\nMappings:\n  M:\n    us-east-1:\n      K: ami-11111111\n";
    let err = edit(
        default,
        with_version(&format!(r#"{{"us-east-1": "{A1}"}}"#), "2.0.0"),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::DuplicateKey);
    assert!(
        err.message.contains("`Parameters.ProductVersion.Default`"),
        "{err}"
    );
    // A duplicate off the edited paths is left alone, as CloudFormation reads it.
    let elsewhere = "Mappings:\n  M:\n    us-east-1:\n      K: ami-11111111\n    eu-west-1:\n      K: ami-22222222\n    eu-west-1:\n      K: ami-33333333\nResources:\n  B:\n    Type: AWS::S3::Bucket\n    Type: AWS::S3::Bucket\n";
    assert_eq!(
        edit_ok(elsewhere, req()),
        elsewhere.replace("ami-11111111", A1)
    );
    // Pruning a duplicated region is refused too.
    let pruned = EditRequest {
        prune: true,
        ..req()
    };
    assert_eq!(
        edit(elsewhere, pruned).unwrap_err().kind,
        ErrorKind::DuplicateKey
    );
}

#[test]
fn a_byte_order_mark_is_accepted_and_kept() {
    let yaml = format!("\u{feff}{}", BLOCK.replace("# header comment\n", ""));
    let out = edit_ok(&yaml, request(&format!(r#"{{"us-east-1": "{A1}"}}"#)));
    assert_eq!(out, yaml.replace("ami-11111111", A1));
    let json = format!("\u{feff}{JSON_CRLF}");
    let template = Template::parse(&json).unwrap();
    assert_eq!(template.format(), Format::Json);
    let out = edit_ok(
        &json,
        request(&format!(
            r#"{{"us-east-1": {{"BYOL": "{A1}", "Hourly": "{A2}"}}}}"#
        )),
    );
    assert!(out.starts_with('\u{feff}'));
    assert_eq!(out.matches(A1).count(), 1);
    // Columns on the first line do not count the mark.
    let err = Template::parse("\u{feff}a: [\n").err().unwrap();
    assert_eq!(err.location.map(|l| l.line), Some(2), "{err}");
    let err = Template::parse("\u{feff}{\"a\" 1}").err().unwrap();
    assert_eq!(
        err.location,
        Some(tree::Location { line: 1, column: 6 }),
        "{err}"
    );
}

#[test]
fn every_syntax_error_has_a_line_and_column() {
    for text in [
        "a: [1, 2\nb: c\n",
        "a: 'x\n",
        "a:\n  - b\n c: d\n",
        "{\"a\": [}",
        "{\"a\": 1,, \"b\": 2}",
        "{\"a\": \"x\n",
        "a: 1\n---\nb: 2\n",
        "",
        "\u{feff}",
        "a: \"\\q\"\n",
    ] {
        let err = Template::parse(text)
            .err()
            .unwrap_or_else(|| panic!("{text:?} parses"));
        assert!(err.location.is_some(), "{text:?} has no location: {err}");
        assert!(
            matches!(err.kind, ErrorKind::Syntax | ErrorKind::NotATemplate),
            "{text:?}: {err}"
        );
    }
    // An alias to no anchor is a composer error: the proof's parser finds it, located too.
    let err = edit(
        "X: *missing\nMappings:\n  M:\n    us-east-1:\n      K: ami-11111111\n",
        request(&format!(r#"{{"us-east-1": "{A1}"}}"#)),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert_eq!(err.location.map(|l| l.line), Some(1), "{err}");
}

#[test]
fn deeply_nested_files_are_refused_in_bounded_time() {
    for text in [
        "[".repeat(200_000),
        format!("{{\"a\": {}", "{\"a\": ".repeat(20_000)),
        format!("a: {}", "{a: ".repeat(40_000)),
        (0..300)
            .map(|i| format!("{}- \n", " ".repeat(i)))
            .collect::<String>(),
    ] {
        let started = std::time::Instant::now();
        let err = Template::parse(&text).err().unwrap();
        assert!(err.message.contains("nest more than"), "{err}");
        assert!(err.location.is_some());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }
}

/// Regions of four partitions in one mapping.
const PARTITIONS: &str = "Mappings:\n  M:\n    us-east-1:\n      K: ami-11111111\n    eu-west-1:\n      K: ami-22222222\n    cn-north-1:\n      K: ami-33333333\n    us-gov-west-1:\n      K: ami-44444444\n    eusc-de-east-1:\n      K: ami-55555555\n    AMI:\n      K: name\n";

#[test]
fn rows_of_other_partitions_are_kept_listed_and_never_pruned() {
    let template = Template::parse(PARTITIONS).unwrap();
    assert_eq!(
        template.mappings()[0].regions,
        [
            "us-east-1",
            "eu-west-1",
            "cn-north-1",
            "us-gov-west-1",
            "eusc-de-east-1"
        ]
    );
    let pruned = EditRequest {
        prune: true,
        ..request(&format!(r#"{{"us-east-1": "{A1}"}}"#))
    };
    let edited = edit(PARTITIONS, pruned.clone()).unwrap();
    assert_eq!(
        edited.text,
        PARTITIONS
            .replace("ami-11111111", A1)
            .replace("    eu-west-1:\n      K: ami-22222222\n", "")
    );
    assert_eq!(
        edited.other_partitions,
        ["cn-north-1", "us-gov-west-1", "eusc-de-east-1"]
    );
    assert_eq!(
        edited.other_partitions_note(),
        "; kept, not copied to (other partition): cn-north-1 (aws-cn), us-gov-west-1 (aws-us-gov), eusc-de-east-1 (aws-eusc)"
    );
    edit_ok(PARTITIONS, pruned);
    // A release in the European Sovereign Cloud updates its own row and keeps the others.
    let eusc = edit(
        PARTITIONS,
        EditRequest {
            prune: true,
            ..request(&format!(r#"{{"eusc-de-east-1": "{A2}"}}"#))
        },
    )
    .unwrap();
    assert_eq!(eusc.text, PARTITIONS.replace("ami-55555555", A2));
    assert_eq!(
        eusc.other_partitions,
        ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"]
    );
    // A hand-made AMIS.json may cover several partitions: each is updated and pruned, the
    // others kept.
    let mixed = edit(
        PARTITIONS,
        EditRequest {
            prune: true,
            ..request(&format!(r#"{{"us-east-1": "{A1}", "cn-north-1": "{A2}"}}"#))
        },
    )
    .unwrap();
    assert_eq!(
        mixed.text,
        PARTITIONS
            .replace("ami-11111111", A1)
            .replace("ami-33333333", A2)
            .replace("    eu-west-1:\n      K: ami-22222222\n", "")
    );
    assert_eq!(mixed.other_partitions, ["us-gov-west-1", "eusc-de-east-1"]);
    // Asked explicitly, prune takes the other partitions' rows too (and lists none as kept).
    let everything = edit(
        PARTITIONS,
        EditRequest {
            prune: true,
            prune_other_partitions: true,
            ..request(&format!(r#"{{"us-east-1": "{A1}"}}"#))
        },
    )
    .unwrap();
    assert_eq!(
        everything.text,
        format!("Mappings:\n  M:\n    us-east-1:\n      K: {A1}\n    AMI:\n      K: name\n")
    );
    assert!(everything.other_partitions.is_empty());
}
