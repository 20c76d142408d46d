use serde_json::json;

use super::*;

fn create(id: &str, manager: Option<&str>, padding: usize) -> Action {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("{id}@x.test"), "title": "t".repeat(padding)});
    Action {
        kind: ObjectKind::User,
        source_id: id.into(),
        target_id: None,
        display: id.into(),
        op: Op::Create {
            body,
            mapped: Mapped {
                manager: manager.map(str::to_string),
                ..Default::default()
            },
            matchers: vec![("userName".into(), format!("{id}@x.test"))],
            create_allowed: true,
            update_allowed: true,
        },
    }
}

fn budget(max_operations: usize, max_payload: usize) -> Budget {
    Budget {
        max_operations,
        max_payload,
    }
}

fn ids(c: &Chunk) -> Vec<&str> {
    c.items.iter().map(|i| i.action.source_id.as_str()).collect()
}

#[test]
fn requests_hold_at_most_max_operations() {
    let mut q: VecDeque<Action> = (0..5).map(|i| create(&format!("u{i}"), None, 0)).collect();
    let c = fill(&mut q, budget(2, 1 << 20), |_| None);
    assert_eq!(ids(&c), ["u0", "u1"]);
    assert_eq!(c.request.operations[1].bulk_id.as_deref(), Some("b1"));
    assert_eq!(c.request.operations[1].path, "/Users");
    assert_eq!(q.len(), 3);
}

#[test]
fn requests_stay_within_the_payload_limit() {
    let mut q: VecDeque<Action> = (0..10).map(|i| create(&format!("u{i}"), None, 300)).collect();
    let one = fill(
        &mut VecDeque::from([create("u0", None, 300)]),
        budget(10, 1 << 20),
        |_| None,
    );
    let single = one.request.encoded_len();
    // Room for three operations, not four.
    let limit = single * 3;
    let mut sizes = Vec::new();
    while !q.is_empty() {
        let c = fill(&mut q, budget(10, limit), |_| None);
        assert!(c.too_big.is_empty());
        let len = c.request.encoded_len();
        assert_eq!(len, c.request.to_json().to_string().len());
        assert!(len <= limit, "{len} > {limit}");
        sizes.push(c.items.len());
    }
    assert_eq!(sizes, [3, 3, 3, 1]);
}

#[test]
fn an_operation_too_big_for_any_request_goes_alone() {
    let mut q = VecDeque::from([create("big", None, 2000), create("small", None, 0)]);
    let c = fill(&mut q, budget(10, 1000), |_| None);
    assert_eq!(c.too_big.len(), 1);
    assert_eq!(c.too_big[0].source_id, "big");
    assert_eq!(ids(&c), ["small"]);
    assert!(q.is_empty());
}

#[test]
fn managers_by_target_id_or_bulk_id() {
    let mut q = VecDeque::from([
        create("boss", Some("linked"), 0),
        create("report", Some("boss"), 0),
        create("early", Some("later"), 0),
        create("later", None, 0),
    ]);
    let c = fill(&mut q, budget(10, 1 << 20), |m| {
        (m == "linked").then(|| "t-1".to_string())
    });
    let manager = |i: usize| {
        c.request.operations[i].data.as_ref().unwrap()["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
            ["manager"]["value"]
            .clone()
    };
    assert_eq!(manager(0), "t-1", "a linked manager by its target id");
    assert_eq!(manager(1), "bulkId:b0", "a manager earlier in the request by bulkId");
    assert_eq!(
        manager(2),
        serde_json::Value::Null,
        "a later one is left to the reference pass"
    );
    let sent: Vec<Option<&str>> = c.items.iter().map(|i| i.manager.as_deref()).collect();
    assert_eq!(sent, [Some("linked"), Some("boss"), None, None]);
    let schemas = c.request.operations[1].data.as_ref().unwrap()["schemas"].clone();
    assert!(schemas.to_string().contains("enterprise"), "{schemas}");
}

#[test]
fn results_line_up_by_bulk_id() {
    let r = |bulk_id: Option<&str>, status: u16| BulkResult {
        bulk_id: bulk_id.map(str::to_string),
        status,
        ..Default::default()
    };
    let resp = BulkResponse {
        operations: vec![
            r(Some("b2"), 201),
            r(Some("b0"), 409),
            r(Some("x"), 201),
            r(Some("b9"), 201),
        ],
    };
    let got: Vec<Option<u16>> = line_up(resp, 3).iter().map(|o| o.as_ref().map(|r| r.status)).collect();
    assert_eq!(got, [Some(409), None, Some(201)]);
    let unnamed = BulkResponse {
        operations: vec![r(None, 201), r(None, 400)],
    };
    let got: Vec<Option<u16>> = line_up(unnamed, 2)
        .iter()
        .map(|o| o.as_ref().map(|r| r.status))
        .collect();
    assert_eq!(got, [Some(201), Some(400)], "by position when all are unnamed");
    let short = BulkResponse {
        operations: vec![r(None, 201)],
    };
    assert!(line_up(short, 2).iter().all(Option::is_none), "no guessing");
}

#[test]
fn budget_from_limits() {
    let l = |supported, ops, payload| BulkLimits {
        supported,
        max_operations: ops,
        max_payload_size: payload,
    };
    assert_eq!(
        Budget::of(&l(true, Some(1000), Some(1_048_576))),
        Some(budget(200, 1_048_576))
    );
    assert_eq!(Budget::of(&l(true, Some(50), Some(4096))), Some(budget(50, 4096)));
    assert_eq!(Budget::of(&l(true, Some(10), None)), Some(budget(10, 1 << 20)));
    assert_eq!(Budget::of(&l(false, Some(1000), Some(1_048_576))), None);
    assert_eq!(Budget::of(&l(true, Some(1), Some(1_048_576))), None);
    assert_eq!(Budget::of(&l(true, None, Some(1_048_576))), None);
}
