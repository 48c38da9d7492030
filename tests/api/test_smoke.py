def test_end_to_end_flow(client):
    cus = client.post("/api/v1/customers", json={"name": "Globex"}).json()
    inv = client.post("/api/v1/invoices", json={"customer_id": cus["id"], "lines": [
        {"description": "x", "quantity": 2, "unit_price": "50.00"}]}).json()
    assert inv["total"] == "100.00", inv
    inv = client.post(f"/api/v1/invoices/{inv['id']}/issue").json()
    assert inv["status"] == "open"
    m = client.post("/api/v1/credit-memos", json={"customer_id": cus["id"], "reason": "goodwill",
                                                   "amount": 60.10}).json()
    assert m["number"] == "CM-0001" and m["total"] == "60.10", m
    m = client.post(f"/api/v1/credit-memos/{m['id']}/issue").json()
    r = client.post(f"/api/v1/credit-memos/{m['id']}/applications",
                    json={"invoice_id": inv["id"], "amount": "60.00"})
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["credit_memo"]["status"] == "partially_applied"
    assert body["invoice"]["balance_due"] == "40.00"
    r = client.post(f"/api/v1/credit-memos/{m['id']}/applications",
                    json={"invoice_id": inv["id"], "amount": "1.00"})
    assert r.status_code == 422 and r.json()["code"] == "exceeds_memo_remaining", r.json()
    r = client.delete(f"/api/v1/invoices/{inv['id']}/credits/{m['id']}")
    assert r.status_code == 200, r.json()
    assert r.json()["credit_memo"]["status"] == "issued"
    r = client.post(f"/api/v1/credit-memos/{m['id']}/void", json={"reason": "oops"})
    assert r.json()["status"] == "void", r.json()
    tb = client.get("/api/v1/reports/trial-balance").json()
    assert tb["total_debit"] == tb["total_credit"]
