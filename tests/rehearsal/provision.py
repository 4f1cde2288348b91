#!/usr/bin/env python3
"""Deploy rehearsal, step 2: create on moto exactly what plan.json names.

With moto's admin credentials (`testing`/`testing`, before IAM enforcement is turned on) this
creates, through each service's own API, the plan's DynamoDB tables, event buses, rules and
their non-Lambda targets, SQS queues (dead-letter queues first) and queue policies, SNS topics,
schedule groups and schedules; and IAM users standing in for the roles: one per function whose
only inline policy grants the actions of the function role's statements, one per other role
(the Scheduler's), and an `admin` user allowed everything, for the driver acting as AWS
services. The users' policies are in the form moto can evaluate (the role's actions on "*",
see moto_statements; --exact puts the statements verbatim): moto matches resources against "*"
for most services, so the Rust side checks resources and conditions against plan.json.
Secrets are not created (`gavel deploy secrets` does that); nor are KMS keys, log groups,
subscriptions, APIs or functions (the driver runs the binaries itself): they are listed under
"skipped".

A rule target that is a Lambda function is not put on moto (moto's PutEvents answers 500 when a
matching rule targets a function); it is listed under "lambda_targets" for the driver to deliver.
moto delivers a rule's events to an SQS target itself.

Prints {"principals": {...}, "admin": {...}, "lambda_targets": [...], "queues": {...}, ...}.

Usage: provision.py --plan plan.json --endpoint http://127.0.0.1:PORT [--reset] [--enforce]
"""

import argparse
import json
import sys
import urllib.request

import boto3
from botocore.exceptions import ClientError


class ProvisionError(Exception):
    """moto refused something, or made it differently from the plan; names the resource."""


def moto_api(endpoint, path, body):
    """moto's control API (reset, reset-auth): local only, like everything here."""
    request = urllib.request.Request(
        f"{endpoint}{path}", data=body.encode(), method="POST",
        headers={"Content-Type": "text/plain"},  # a form type would hide the body from moto
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def session(plan, key="testing", secret="testing"):
    return boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name=plan["region"]
    )


def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


def expect(logical_id, what, planned, actual):
    """moto must name things as the plan does, or the functions' environment would point at
    nothing (a different account or region, say)."""
    if planned != actual:
        raise ProvisionError(f"{logical_id}: moto made {what} {actual!r}, the plan says {planned!r}")


def create_tables(clients, plan):
    """Tables with their keys, indexes and billing mode, then TTL, backups and tags."""
    ddb = clients("dynamodb")
    for t in plan["resources"]["tables"]:
        args = {
            "TableName": t["name"],
            "AttributeDefinitions": t["attribute_definitions"],
            "KeySchema": t["key_schema"],
            "BillingMode": t["billing_mode"],
        }
        provisioned = t["billing_mode"] == "PROVISIONED"
        if provisioned:
            args["ProvisionedThroughput"] = numeric(t["provisioned_throughput"])
        if t["global_secondary_indexes"]:
            args["GlobalSecondaryIndexes"] = [numeric(g) for g in t["global_secondary_indexes"]]
        if t["local_secondary_indexes"]:
            args["LocalSecondaryIndexes"] = t["local_secondary_indexes"]
        if t["stream_specification"]:
            args["StreamSpecification"] = t["stream_specification"]
        if t["sse"]:
            args["SSESpecification"] = {"Enabled": True}
        if t["deletion_protection"]:
            args["DeletionProtectionEnabled"] = True
        if t["tags"]:
            args["Tags"] = tag_list(t["tags"])
        try:
            made = ddb.create_table(**args)["TableDescription"]
        except ClientError as error:
            raise ProvisionError(f"{t['logical_id']}: CreateTable: {error}") from error
        expect(t["logical_id"], "table ARN", t["arn"], made["TableArn"])
        if t["ttl_attribute"]:
            ddb.update_time_to_live(
                TableName=t["name"],
                TimeToLiveSpecification={"AttributeName": t["ttl_attribute"], "Enabled": True},
            )
        if t["point_in_time_recovery"]:
            ddb.update_continuous_backups(
                TableName=t["name"],
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )


def numeric(value):
    """Throughput numbers arrive as strings when they came from parameters."""
    if isinstance(value, dict):
        return {k: numeric(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numeric(v) for v in value]
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def queue_order(queues):
    """Dead-letter queues before the queues that redrive to them (SQS checks the target)."""
    by_arn = {q["arn"]: q for q in queues}
    ordered, seen = [], set()

    def visit(queue, path=()):
        if queue["arn"] in seen:
            return
        if queue["arn"] in path:
            raise ProvisionError(f"{queue['logical_id']}: redrive policies form a cycle")
        dlq = queue.get("dead_letter_queue_arn")
        if dlq in by_arn:
            visit(by_arn[dlq], path + (queue["arn"],))
        seen.add(queue["arn"])
        ordered.append(queue)

    for queue in queues:
        visit(queue)
    return ordered


def create_queues(clients, plan):
    """Queues with every attribute the template sets; returns logical id -> moto's URL."""
    sqs = clients("sqs")
    urls = {}
    for q in queue_order(plan["resources"]["queues"]):
        args = {"QueueName": q["name"], "Attributes": q["attributes"]}
        if q["tags"]:
            args["tags"] = q["tags"]
        try:
            url = sqs.create_queue(**args)["QueueUrl"]
        except ClientError as error:
            raise ProvisionError(f"{q['logical_id']}: CreateQueue: {error}") from error
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        expect(q["logical_id"], "queue ARN", q["arn"], arn["QueueArn"])
        urls[q["logical_id"]] = url
    by_name = {q["name"]: urls[q["logical_id"]] for q in plan["resources"]["queues"]}
    for policy in plan["resources"]["queue_policies"]:
        for name in policy["queue_names"]:
            if name not in by_name:
                raise ProvisionError(f"{policy['logical_id']}.Queues: {name} is not a queue of the plan")
            sqs.set_queue_attributes(
                QueueUrl=by_name[name], Attributes={"Policy": json.dumps(policy["policy"])}
            )
    return urls


def create_topics(clients, plan):
    sns = clients("sns")
    for t in plan["resources"]["topics"]:
        attributes = {}
        if t.get("display_name"):
            attributes["DisplayName"] = t["display_name"]
        if t.get("kms_master_key_id"):
            attributes["KmsMasterKeyId"] = t["kms_master_key_id"]
        if t.get("fifo"):
            attributes["FifoTopic"] = "true"
        args = {"Name": t["name"], "Attributes": attributes}
        if t["tags"]:
            args["Tags"] = tag_list(t["tags"])
        arn = sns.create_topic(**args)["TopicArn"]
        expect(t["logical_id"], "topic ARN", t["arn"], arn)


def lambda_function_arn(arn):
    return isinstance(arn, str) and arn.startswith("arn:aws:lambda:") and ":function:" in arn


def create_buses_and_rules(clients, plan):
    """Buses, rules and every target but functions'; returns the function targets."""
    events = clients("events")
    for bus in plan["resources"]["event_buses"]:
        args = {"Name": bus["name"]}
        if bus["tags"]:
            args["Tags"] = tag_list(bus["tags"])
        arn = events.create_event_bus(**args)["EventBusArn"]
        expect(bus["logical_id"], "bus ARN", bus["arn"], arn)
    lambda_targets = []
    for rule in plan["resources"]["rules"]:
        args = {"Name": rule["name"], "EventBusName": rule["bus"], "State": rule["state"]}
        if rule["pattern"] is not None:
            args["EventPattern"] = json.dumps(rule["pattern"])
        if rule["schedule_expression"]:
            args["ScheduleExpression"] = rule["schedule_expression"]
        if rule.get("description"):
            args["Description"] = rule["description"]
        if rule["tags"]:
            args["Tags"] = tag_list(rule["tags"])
        arn = events.put_rule(**args)["RuleArn"]
        expect(rule["logical_id"], "rule ARN", rule["arn"], arn)
        targets = []
        for t in rule["targets"]:
            if lambda_function_arn(t["arn"]):
                lambda_targets.append({
                    "rule": rule["logical_id"], "rule_name": rule["name"], "bus": rule["bus"],
                    "pattern": rule["pattern"], "target_id": t["id"], "arn": t["arn"],
                    "function_logical_id": t["function_logical_id"],
                    "dead_letter_arn": t["dead_letter_arn"], "retry_policy": t["retry_policy"],
                    "input": t["input"], "input_path": t["input_path"],
                    "input_transformer": t["input_transformer"],
                })
                continue
            target = {"Id": t["id"], "Arn": t["arn"]}
            if t["dead_letter_arn"]:
                target["DeadLetterConfig"] = {"Arn": t["dead_letter_arn"]}
            if t["retry_policy"]:
                target["RetryPolicy"] = numeric(t["retry_policy"])
            if t["input"] is not None:
                target["Input"] = json.dumps(t["input"]) if not isinstance(t["input"], str) else t["input"]
            if t["input_path"]:
                target["InputPath"] = t["input_path"]
            if t["input_transformer"]:
                target["InputTransformer"] = t["input_transformer"]
            if t["role_arn"]:
                target["RoleArn"] = t["role_arn"]
            if t["sqs_parameters"]:
                target["SqsParameters"] = t["sqs_parameters"]
            targets.append(target)
        if targets:
            failed = events.put_targets(Rule=rule["name"], EventBusName=rule["bus"], Targets=targets)
            if failed.get("FailedEntryCount"):
                raise ProvisionError(f"{rule['logical_id']}.Targets: {failed['FailedEntries']}")
    return lambda_targets


def create_schedules(clients, plan):
    scheduler = clients("scheduler")
    for group in plan["resources"]["schedule_groups"]:
        args = {"Name": group["name"]}
        if group["tags"]:
            args["Tags"] = tag_list(group["tags"])
        arn = scheduler.create_schedule_group(**args)["ScheduleGroupArn"]
        expect(group["logical_id"], "schedule group ARN", group["arn"], arn)
    for s in plan["resources"]["schedules"]:
        target = {"Arn": s["target_arn"], "RoleArn": s["role_arn"]}
        if s["input"] is not None:
            target["Input"] = s["input"] if isinstance(s["input"], str) else json.dumps(s["input"])
        if s["retry_policy"]:
            target["RetryPolicy"] = numeric(s["retry_policy"])
        if s["dead_letter_arn"]:
            target["DeadLetterConfig"] = {"Arn": s["dead_letter_arn"]}
        args = {
            "Name": s["name"], "GroupName": s["group"], "ScheduleExpression": s["expression"],
            "FlexibleTimeWindow": numeric(s["flexible_time_window"]), "Target": target,
            "State": s["state"],
        }
        if s.get("timezone"):
            args["ScheduleExpressionTimezone"] = s["timezone"]
        if s.get("description"):
            args["Description"] = s["description"]
        try:
            arn = scheduler.create_schedule(**args)["ScheduleArn"]
        except ClientError as error:
            raise ProvisionError(f"{s['logical_id']}: CreateSchedule: {error}") from error
        expect(s["logical_id"], "schedule ARN", s["arn"], arn)


# moto names a transaction by its own action; AWS authorizes each item as one of these.
ITEM_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
               "dynamodb:ConditionCheckItem"}


def moto_statements(statements):
    """The role's statements in the form moto can evaluate: the same actions on "*", without
    conditions. moto 5.2.5 matches a statement's Resource against the request's resource, which
    is "*" for DynamoDB, EventBridge, Scheduler and Secrets Manager (only SQS, IAM and STS pass
    the real ARN), so a statement naming an ARN would allow nothing; and it evaluates
    conditions without any context keys, so a conditional Allow never applies. The exact
    statements stay in plan.json: the Rust side checks resources and conditions. moto also
    authorizes TransactWriteItems by that name (AWS checks each item's own action), so a role
    granted an item write gets it too, as tests/support/iam_setup.py does."""
    actions, others, notes = set(), [], []
    for s in statements:
        if s.get("Effect") == "Allow" and "Action" in s:
            actions.update(s["Action"])
        elif s.get("Effect") == "Allow" and "NotAction" in s:
            others.append({"Effect": "Allow", "NotAction": s["NotAction"], "Resource": "*"})
        elif s.get("Resource") == ["*"] and "Condition" not in s:
            others.append({k: v for k, v in s.items() if k in ("Effect", "Action", "NotAction", "Resource")})
        else:
            notes.append(f"dropped a Deny on {s.get('Resource')}: moto cannot scope it")
    if actions & ITEM_WRITES:
        actions.add("dynamodb:TransactWriteItems")
    out = [{"Effect": "Allow", "Action": sorted(actions), "Resource": "*"}] if actions else []
    return out + others, sorted(actions), notes


def policy_statements(statements):
    """The role's statements as an IAM policy may hold them (Principal belongs to resource
    policies only), for --exact."""
    return [{k: v for k, v in s.items() if k not in ("Principal", "NotPrincipal")}
            for s in statements]


def create_user(iam, name, statements, exact=False):
    """A user whose only inline policy grants what these statements grant (see
    moto_statements); returns its access key."""
    if exact:
        policy, actions, notes = policy_statements(statements), None, []
    else:
        policy, actions, notes = moto_statements(statements)
    iam.create_user(UserName=name)
    document = {"Version": "2012-10-17", "Statement": policy or [
        {"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="role", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    out = {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"], "user": name}
    if actions is not None:
        out["moto_actions"] = actions
    if notes:
        out["notes"] = notes
    return out


def user_name(plan, logical_id):
    """IAM user names: 64 characters of [\\w+=,.@-]."""
    return f"{plan['stack_name']}-{logical_id}"[:64]


def create_principals(clients, plan, exact=False):
    """One user per function (its role's statements), one per other role, and the admin."""
    iam = clients("iam")
    principals = {}
    function_roles = set()
    for lid, function in plan["functions"].items():
        principals[lid] = create_user(iam, user_name(plan, lid), function["statements"], exact)
        principals[lid]["role_logical_id"] = function["role_logical_id"]
        function_roles.add(function["role_logical_id"])
    for role in plan["resources"]["roles"]:
        if role["logical_id"] in function_roles:
            continue
        principals[role["logical_id"]] = create_user(
            iam, user_name(plan, role["logical_id"]), role["statements"], exact
        )
        principals[role["logical_id"]]["assumed_by"] = role["assumed_by"]
    admin = create_user(iam, "admin",
                        [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}], exact=True)
    return principals, admin


SKIPPED_SECTIONS = ("kms_keys", "log_groups", "subscriptions", "apis", "function_urls", "other")


def provision(plan, endpoint, exact=False):
    """Everything, in dependency order; returns the principals document."""
    admin_session = session(plan)

    def clients(service):
        return admin_session.client(service, endpoint_url=endpoint)

    try:
        clients("sts").get_caller_identity()
        clients("iam").list_users()
    except ClientError as error:
        raise ProvisionError(
            f"moto refused the admin credentials ({error}); IAM enforcement is probably on: "
            f"POST {endpoint}/moto-api/reset-auth with body inf, or pass --reset"
        ) from error
    create_tables(clients, plan)
    queues = create_queues(clients, plan)
    create_topics(clients, plan)
    lambda_targets = create_buses_and_rules(clients, plan)
    create_schedules(clients, plan)
    principals, admin = create_principals(clients, plan, exact)
    skipped = [{"section": s, "logical_id": r["logical_id"]}
               for s in SKIPPED_SECTIONS for r in plan["resources"].get(s, [])]
    return {"principals": principals, "admin": admin, "lambda_targets": lambda_targets,
            "queues": queues, "skipped": skipped}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", required=True)
    parser.add_argument("--endpoint", required=True, help="moto's URL, http://127.0.0.1:PORT")
    parser.add_argument("--reset", action="store_true",
                        help="clear moto and turn IAM enforcement off first")
    parser.add_argument("--enforce", action="store_true",
                        help="turn IAM enforcement on afterwards (reset-auth 0)")
    parser.add_argument("--exact", action="store_true",
                        help="put the role statements on the users verbatim (moto then allows "
                             "almost nothing, see moto_statements)")
    args = parser.parse_args(argv)
    with open(args.plan, encoding="utf-8") as f:
        plan = json.load(f)
    if args.reset:
        moto_api(args.endpoint, "/moto-api/reset-auth", "inf")
        moto_api(args.endpoint, "/moto-api/reset", "")
    try:
        out = provision(plan, args.endpoint, args.exact)
    except ProvisionError as error:
        print(f"provision.py: {error}", file=sys.stderr)
        return 1
    if args.enforce:
        moto_api(args.endpoint, "/moto-api/reset-auth", "0")
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
