"""Found by fuzzing: huge numbers in notification requests were 500s; now a 422."""

BIG = 2**63  # one past the largest 64-bit integer


def test_huge_numbers(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    for r in (clerk.post(f"/api/notifications/{BIG}/read"),
              clerk.get("/api/notifications", params={"offset": BIG})):
        assert r.status_code == 422, r.text
        assert r.json()["detail"]["code"] == "number_out_of_range"
        assert r.json()["detail"]["message"] == "数值超出允许范围"
