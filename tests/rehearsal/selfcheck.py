#!/usr/bin/env python3
"""By-hand check of plan.py and provision.py against a running moto (not part of CI).

Lists what provision.py created, then turns IAM enforcement on and shows that the users carry
their roles' policies: the worker may PutItem on the table but not Scan it, and the admin may
do anything. If the plan has a rule with an SQS target, it also puts one matching event as the
admin and reads it from the queue (moto delivers rule -> SQS itself). Leaves enforcement on.

Usage: selfcheck.py --plan plan.json --principals principals.json --endpoint http://127.0.0.1:PORT
"""

import argparse
import json
import sys

import boto3
from botocore.exceptions import ClientError

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from provision import moto_api  # noqa: E402


def client(plan, endpoint, service, creds):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=plan["region"],
        aws_access_key_id=creds["access_key"], aws_secret_access_key=creds["secret_key"],
    )


def listing(plan, endpoint, admin):
    """What exists on moto, service by service."""
    c = lambda service: client(plan, endpoint, service, admin)  # noqa: E731
    ddb = c("dynamodb")
    for name in ddb.list_tables()["TableNames"]:
        t = ddb.describe_table(TableName=name)["Table"]
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        print(f"table {name}: keys={[k['AttributeName'] for k in t['KeySchema']]} "
              f"gsis={[g['IndexName'] for g in t.get('GlobalSecondaryIndexes', [])]} "
              f"billing={t.get('BillingModeSummary', {}).get('BillingMode')} "
              f"ttl={ttl.get('AttributeName')}:{ttl.get('TimeToLiveStatus')} "
              f"deletion_protection={t.get('DeletionProtectionEnabled')}")
    events = c("events")
    for bus in events.list_event_buses()["EventBuses"]:
        print(f"bus {bus['Name']}")
        for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])
            print(f"  rule {rule['Name']} targets={[t['Arn'] for t in targets['Targets']]}")
    sqs = c("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        print(f"queue {url} retention={a.get('MessageRetentionPeriod')} "
              f"redrive={a.get('RedrivePolicy')} policy={'Policy' in a}")
    for topic in c("sns").list_topics()["Topics"]:
        print(f"topic {topic['TopicArn']}")
    scheduler = c("scheduler")
    for group in scheduler.list_schedule_groups()["ScheduleGroups"]:
        print(f"schedule group {group['Name']}")
    for s in scheduler.list_schedules()["Schedules"]:
        print(f"schedule {s['GroupName']}/{s['Name']}")
    for user in c("iam").list_users()["Users"]:
        policies = c("iam").list_user_policies(UserName=user["UserName"])["PolicyNames"]
        print(f"user {user['UserName']} inline={policies}")


def attempt(label, call):
    try:
        call()
        print(f"{label}: allowed")
        return True
    except ClientError as error:
        print(f"{label}: {error.response['Error']['Code']}")
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--plan", required=True)
    parser.add_argument("--principals", required=True)
    parser.add_argument("--endpoint", required=True)
    args = parser.parse_args()
    plan = json.load(open(args.plan, encoding="utf-8"))
    principals = json.load(open(args.principals, encoding="utf-8"))
    admin = principals["admin"]
    listing(plan, args.endpoint, admin)

    moto_api(args.endpoint, "/moto-api/reset-auth", "0")
    table = plan["resources"]["tables"][0]["name"]
    worker = next(lid for lid, f in plan["functions"].items()
                  if any(a == "dynamodb:PutItem" for s in f["statements"] for a in s.get("Action", []))
                  and not any(a == "dynamodb:Scan" for s in f["statements"] for a in s.get("Action", []))
                  and any("scheduler:" in a for s in f["statements"] for a in s.get("Action", [])))
    ddb = client(plan, args.endpoint, "dynamodb", principals["principals"][worker])
    item = {"pk": {"S": "selfcheck"}, "sk": {"S": "1"}}
    ok = attempt(f"{worker} PutItem", lambda: ddb.put_item(TableName=table, Item=item))
    ok &= not attempt(f"{worker} Scan", lambda: ddb.scan(TableName=table))
    admin_ddb = client(plan, args.endpoint, "dynamodb", admin)
    ok &= attempt("admin Scan", lambda: admin_ddb.scan(TableName=table))

    queues = {q["arn"]: q for q in plan["resources"]["queues"]}
    for rule in plan["resources"]["rules"]:
        for target in rule["targets"]:
            if target["arn"] in queues and rule["pattern"]:
                events = client(plan, args.endpoint, "events", admin)
                sqs = client(plan, args.endpoint, "sqs", admin)
                pattern = rule["pattern"]
                entry = {"Source": pattern["source"][0], "DetailType": pattern["detail-type"][0],
                         "Detail": json.dumps({"selfcheck": True}), "EventBusName": rule["bus"]}
                events.put_events(Entries=[entry])
                url = principals["queues"][queues[target["arn"]]["logical_id"]]
                got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
                print(f"rule {rule['name']} -> queue {target['arn'].rsplit(':', 1)[1]}: "
                      f"{len(got)} message(s) {got[0]['Body'] if got else ''}")
                ok &= bool(got)
    print("selfcheck:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
