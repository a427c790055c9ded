// Package retention decides when a record may be disposed of. Disposal in
// onrecord is key destruction (crypto-shredding) of a whole key bucket — one
// retention class on one UTC day — so the decision is made per bucket: the
// bucket's retention period must have passed for its last possible record,
// and no legal hold may cover it. Retention only ever extends: nothing here
// shortens a period, and a hold blocks disposal however old the bucket is.
//
// This is the minimal registry the journal needs; matters, custodian and
// query holds and the retention planner build on it later.
package retention
