//! One test per rule of the shapes: a valid document, then each field broken on its own.

use super::*;
use serde_json::json;

fn valid() -> Value {
    json!({
        "Version": {"VersionTitle": "5.26.0", "ReleaseNotes": "Fixes."},
        "DeliveryOptions": [{"Details": {"AmiDeliveryOptionDetails": {
            "AmiSource": {
                "AmiId": "ami-0123456789abcdef0",
                "AccessRoleArn": "arn:aws:iam::123456789012:role/MarketplaceAmiIngestion",
                "UserName": "ec2-user",
                "ScanningPort": 22,
                "OperatingSystemName": "AMAZONLINUX",
                "OperatingSystemVersion": "2023",
            },
            "UsageInstructions": "Open the browser.",
            "AccessEndpointUrl": {"Port": 7474, "Protocol": "http", "RelativePath": "browser/"},
            "RecommendedInstanceType": "r6i.large",
            "SecurityGroups": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": ["0.0.0.0/0"]},
            ],
        }}}],
    })
}

const OPTION: &str = "/DeliveryOptions/0/Details/AmiDeliveryOptionDetails";

/// The document with the value at `pointer` (a JSON pointer) replaced, or removed for `None`.
fn with(pointer: &str, value: Option<Value>) -> Value {
    let mut doc = valid();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = doc.pointer_mut(parent).unwrap();
    match (parent, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(key.to_owned(), v);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        (Value::Array(items), Some(v)) => items[key.parse::<usize>().unwrap()] = v,
        _ => unreachable!(),
    }
    doc
}

/// The one violation of `doc`, as `path: rule`.
fn refused(doc: &Value) -> String {
    let found = check_add_delivery_options(doc);
    assert_eq!(found.len(), 1, "{found:#?}");
    format!("{}: {}", found[0].path, found[0].rule)
}

#[test]
fn the_valid_document_and_its_optional_fields_pass() {
    assert_eq!(check_add_delivery_options(&valid()), vec![]);
    let bare = with(&format!("{OPTION}/AccessEndpointUrl"), None);
    assert_eq!(check_add_delivery_options(&bare), vec![]);
    let bare = with(&format!("{OPTION}/AmiSource/ScanningPort"), None);
    assert_eq!(check_add_delivery_options(&bare), vec![]);
    let bare = with(&format!("{OPTION}/AccessEndpointUrl/RelativePath"), None);
    assert_eq!(check_add_delivery_options(&bare), vec![]);
}

#[test]
fn version_title_is_1_to_64_characters_starting_with_a_non_space() {
    let p = "/Version/VersionTitle";
    assert!(check_add_delivery_options(&with(p, Some(json!("x".repeat(64))))).is_empty());
    assert_eq!(
        refused(&with(p, Some(json!("x".repeat(65))))),
        "Version.VersionTitle: takes at most 64 characters, not 65"
    );
    assert!(refused(&with(p, Some(json!(" 1.0")))).contains("must start with a non-space"));
    assert!(refused(&with(p, Some(json!("")))).contains("must start with a non-space"));
    assert_eq!(refused(&with(p, None)), "Version.VersionTitle: is required");
}

#[test]
fn release_notes_are_at_most_30000_characters_starting_with_a_non_space() {
    let p = "/Version/ReleaseNotes";
    assert!(check_add_delivery_options(&with(p, Some(json!("n".repeat(30000))))).is_empty());
    assert!(refused(&with(p, Some(json!("n".repeat(30001))))).contains("at most 30000"));
    assert!(refused(&with(p, Some(json!("\nnotes")))).contains("non-space"));
}

#[test]
fn exactly_one_delivery_option() {
    let mut doc = valid();
    let option = doc["DeliveryOptions"][0].clone();
    doc["DeliveryOptions"] = json!([option.clone(), option]);
    assert_eq!(
        refused(&doc),
        "DeliveryOptions: takes exactly 1 item(s), not 2"
    );
    doc["DeliveryOptions"] = json!([]);
    assert_eq!(
        refused(&doc),
        "DeliveryOptions: takes exactly 1 item(s), not 0"
    );
}

#[test]
fn ami_ids_have_8_or_17_characters() {
    let p = format!("{OPTION}/AmiSource/AmiId");
    for good in [
        "ami-12345678",
        "ami-0123456789abcdef0",
        "ami-0123456789ABCDEF0",
    ] {
        assert!(
            check_add_delivery_options(&with(&p, Some(json!(good)))).is_empty(),
            "{good}"
        );
    }
    for bad in [
        "ami-123",
        "ami-0123456789abcdef",
        "AMI-12345678",
        "ami-1234567_",
    ] {
        assert!(
            refused(&with(&p, Some(json!(bad)))).ends_with(&format!("must match {AMI_ID_PATTERN}")),
            "{bad}"
        );
    }
}

#[test]
fn the_role_arn_is_an_iam_role_of_the_aws_partition() {
    let p = format!("{OPTION}/AmiSource/AccessRoleArn");
    assert!(check_add_delivery_options(&with(
        &p,
        Some(json!("arn:aws:iam::123456789012:role/path/R+=,.@-_"))
    ))
    .is_empty());
    for bad in [
        "arn:aws-us-gov:iam::123456789012:role/R",
        "arn:aws:iam::12345678901:role/R",
        "arn:aws:iam::123456789012:user/R",
        "arn:aws:iam::123456789012:role/",
    ] {
        assert!(
            refused(&with(&p, Some(json!(bad)))).contains("must match ^arn:aws:iam"),
            "{bad}"
        );
    }
}

#[test]
fn user_names_start_with_a_letter_and_have_at_most_32_characters() {
    let p = format!("{OPTION}/AmiSource/UserName");
    assert!(
        check_add_delivery_options(&with(&p, Some(json!(format!("u{}", "_".repeat(31))))))
            .is_empty()
    );
    for bad in ["1user", "ec2.user", "ec2 user", ""] {
        assert!(
            refused(&with(&p, Some(json!(bad)))).contains("must match ^[a-zA-Z]"),
            "{bad}"
        );
    }
    let found = check_add_delivery_options(&with(&p, Some(json!("u".repeat(33)))));
    assert!(found[0].rule.contains("at most 32"), "{found:?}");
}

#[test]
fn ports_are_integers_from_1_to_65535() {
    for p in [
        format!("{OPTION}/AmiSource/ScanningPort"),
        format!("{OPTION}/AccessEndpointUrl/Port"),
        format!("{OPTION}/SecurityGroups/0/FromPort"),
        format!("{OPTION}/SecurityGroups/0/ToPort"),
    ] {
        assert!(
            check_add_delivery_options(&with(&p, Some(json!(65535)))).is_empty(),
            "{p}"
        );
        for bad in [json!(0), json!(65536), json!(-1)] {
            assert!(
                refused(&with(&p, Some(bad.clone()))).ends_with("must be a port from 1 to 65535"),
                "{p} {bad}"
            );
        }
        assert!(
            refused(&with(&p, Some(json!("22")))).ends_with("must be an integer"),
            "{p}"
        );
    }
}

#[test]
fn os_name_and_version_have_at_most_100_characters() {
    for key in ["OperatingSystemName", "OperatingSystemVersion"] {
        let p = format!("{OPTION}/AmiSource/{key}");
        assert!(check_add_delivery_options(&with(&p, Some(json!("o".repeat(100))))).is_empty());
        assert!(refused(&with(&p, Some(json!("o".repeat(101))))).contains("at most 100"));
        assert!(refused(&with(&p, Some(json!(" 2023")))).contains("non-space"));
    }
}

#[test]
fn usage_instructions_have_at_most_4000_characters() {
    let p = format!("{OPTION}/UsageInstructions");
    assert!(check_add_delivery_options(&with(&p, Some(json!("u".repeat(4000))))).is_empty());
    assert!(refused(&with(&p, Some(json!("u".repeat(4001))))).contains("at most 4000"));
    assert!(refused(&with(&p, Some(json!("  indented")))).contains("non-space"));
}

#[test]
fn recommended_instance_types_follow_awss_pattern() {
    let p = format!("{OPTION}/RecommendedInstanceType");
    for good in ["t3.medium", "r6i.24xlarge", "m7g.metal", "c5n.18xlarge"] {
        assert!(
            check_add_delivery_options(&with(&p, Some(json!(good)))).is_empty(),
            "{good}"
        );
    }
    for bad in [
        "u-6tb1.metal",
        "t3",
        "T3.medium",
        "m7g.metal-24xl",
        "mac.metal",
    ] {
        assert!(
            refused(&with(&p, Some(json!(bad)))).contains(INSTANCE_TYPE_PATTERN),
            "{bad}"
        );
    }
}

#[test]
fn access_endpoint_paths_do_not_start_with_a_slash() {
    let p = format!("{OPTION}/AccessEndpointUrl/RelativePath");
    assert!(check_add_delivery_options(&with(&p, Some(json!("index.html")))).is_empty());
    for bad in ["/", "/browser/", "", " x"] {
        assert!(
            refused(&with(&p, Some(json!(bad)))).contains("neither a space nor `/`"),
            "{bad}"
        );
    }
    assert!(refused(&with(&p, Some(json!("x".repeat(2001))))).contains("at most 2000"));
    let protocol = format!("{OPTION}/AccessEndpointUrl/Protocol");
    assert!(refused(&with(&protocol, Some(json!("httpss")))).contains("at most 5"));
}

#[test]
fn ip_protocols_have_at_most_3_characters() {
    let p = format!("{OPTION}/SecurityGroups/0/IpProtocol");
    assert!(check_add_delivery_options(&with(&p, Some(json!("udp")))).is_empty());
    assert_eq!(
        refused(&with(&p, Some(json!("icmp")))),
        "DeliveryOptions[0].Details.AmiDeliveryOptionDetails.SecurityGroups[0].IpProtocol: takes at most 3 characters, not 4"
    );
}

#[test]
fn security_groups_are_1_to_25_with_1_to_5_ranges_each() {
    let group =
        json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": ["0.0.0.0/0"]});
    let p = format!("{OPTION}/SecurityGroups");
    assert!(check_add_delivery_options(&with(&p, Some(json!(vec![group.clone(); 25])))).is_empty());
    assert!(refused(&with(&p, Some(json!(vec![group.clone(); 26]))))
        .ends_with("takes 1 to 25 items, not 26"));
    assert!(refused(&with(&p, Some(json!([])))).ends_with("takes 1 to 25 items, not 0"));
    let ranges = format!("{OPTION}/SecurityGroups/0/IpRanges");
    let five: Vec<String> = (0..5).map(|i| format!("10.0.{i}.0/24")).collect();
    assert!(check_add_delivery_options(&with(&ranges, Some(json!(five)))).is_empty());
    let six: Vec<String> = (0..6).map(|i| format!("10.0.{i}.0/24")).collect();
    assert!(
        refused(&with(&ranges, Some(json!(six)))).ends_with("IpRanges: takes 1 to 5 items, not 6")
    );
    assert!(refused(&with(&ranges, Some(json!([])))).ends_with("takes 1 to 5 items, not 0"));
}

#[test]
fn strings_must_be_strings_and_unknown_fields_are_refused() {
    let p = format!("{OPTION}/AmiSource/OperatingSystemVersion");
    assert!(refused(&with(&p, Some(json!(2023)))).ends_with("must be a string"));
    let p = format!("{OPTION}/AmiSource/Extra");
    assert!(refused(&with(&p, Some(json!("x")))).contains("is not a field of this shape"));
}

#[test]
fn request_members_follow_the_api_reference() {
    assert!(check_request(
        "marketplace-release apply Neo4j 5.26.0",
        "mr-0123abcd",
        "AddDeliveryOptions"
    )
    .is_empty());
    let found = check_request(&"n".repeat(101), "mr-1", "AddDeliveryOptions");
    assert_eq!(found[0].path, "ChangeSetName");
    assert!(found[0].rule.contains("at most 100"));
    let found = check_request("name (x)", "mr-1", "AddDeliveryOptions");
    assert!(found[0].rule.contains(CHANGE_SET_NAME_PATTERN));
    let found = check_request("name", &"t".repeat(37), "AddDeliveryOptions");
    assert_eq!(found[0].path, "ClientRequestToken");
    let found = check_request("name", "token/1", "AddDeliveryOptions");
    assert!(found[0].rule.contains(REQUEST_TOKEN_PATTERN));
    let found = check_request("name", "t", "Add-Delivery");
    assert_eq!(found[0].path, "ChangeName");
}

#[test]
fn versions_with_a_cloudformation_delivery_option_are_recognised() {
    let entity = json!({"Versions": [
        {"VersionTitle": "1.0", "DeliveryOptions": [{"Type": "AMI"}],
         "Sources": [{"Type": "AmazonMachineImage", "Image": "arn:aws:ec2:us-east-1::image/ami-12345678"}]},
        {"VersionTitle": "2.0", "DeliveryOptions": [{"Type": "AMI"}, {"Type": "CloudFormation"}]},
        {"VersionTitle": "3.0", "Sources": [{"Type": "Other", "Template": "https://example.com/t.yaml"}]},
    ]});
    let versions = listed_versions(&entity);
    let flags: Vec<(&str, bool)> = versions
        .iter()
        .map(|v| (v.title.as_str(), v.cloudformation))
        .collect();
    assert_eq!(flags, [("1.0", false), ("2.0", true), ("3.0", true)]);
    assert!(listed_versions(&json!(null)).is_empty());
    assert_eq!(versions[0].amis, ["ami-12345678"]);
    assert_eq!(version_status(&versions, "4.0", None), VersionStatus::New);
    assert_eq!(
        version_status(&versions, "1.0", Some("ami-12345678")),
        VersionStatus::AlreadyThere
    );
    assert_eq!(
        version_status(&versions, "1.0", Some("ami-87654321")),
        VersionStatus::TitleTaken {
            amis: vec!["ami-12345678".into()]
        }
    );
    let regions =
        listed_regions(&json!({"RegionAvailability": {"Regions": ["us-east-1", "eu-west-1"]}}));
    assert_eq!(regions, ["us-east-1", "eu-west-1"]);
}

#[test]
fn listing_notes_name_regions_both_ways_and_an_instance_type_not_sold() {
    let entity = json!({
        "RegionAvailability": {"Regions": ["us-east-1", "eu-west-1", "ap-south-1"]},
        "Compatibility": {"AvailableInstanceTypes": ["t3.large", "r6i.large"], "RestrictedInstanceTypes": ["t2.micro"]},
    });
    let ours = vec![
        "us-east-1".to_owned(),
        "eu-west-1".to_owned(),
        "sa-east-1".to_owned(),
    ];
    let notes = listing_notes(&entity, "prod-x", &ours, true, "m5.large");
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes[0].starts_with("prod-x is not offered in `sa-east-1`"),
        "{notes:?}"
    );
    assert!(
        notes[1]
            .starts_with("prod-x is offered in `ap-south-1`, which this release does not copy to"),
        "{notes:?}"
    );
    assert!(notes[2].contains("`m5.large` (load-form.recommended-instance-type) is not among the listing's instance types"), "{notes:?}");
    let restricted = listing_notes(&entity, "prod-x", &ours, false, "t2.micro");
    assert_eq!(restricted.len(), 2, "{restricted:?}");
    assert!(restricted[1].contains("`t2.micro`") && restricted[1].contains("is restricted"));
    let sold = listing_notes(&entity, "prod-x", &ours[..2], false, "r6i.large");
    assert!(sold.is_empty(), "{sold:?}");
}
