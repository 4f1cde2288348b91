"""Least privilege, set up for tests/least_privilege.rs.

Reads each Lambda function's policy statements from template.yaml (the template itself, not a
copy) and creates in moto, before IAM is enforced there, one IAM user per function whose only
policy grants exactly the actions that function's statements grant; and the event bus and
schedule group the functions use. Prints JSON:

    {"functions": {"DiscordInteractionsFunction": {"access_key": ..., "secret_key": ...,
     "granted": ["dynamodb:GetItem", "dynamodb:Query on the due index", ...]}, ...}}

moto checks actions but not resources (its policy evaluation ignores `Resource`), so each
statement's resource is kept in the names the test compares: an action granted only on the due
index is `dynamodb:Query on the due index`. moto also names a transaction by its own action
(`dynamodb:TransactWriteItems`, which IAM does not have: AWS authorizes each item as PutItem,
UpdateItem, DeleteItem or ConditionCheckItem), so a function granted any item write gets it in
moto, and the test's proxy checks every item of a transaction against the template's grants.

Each function's entry also carries `secret_ids`: its `{NAME}_ID` environment variables from the
template, with `${SecretName}` read as PREFIX; the secrets are created (with made-up values) so
the function's cold start can read them under its own credentials.

Usage: iam_setup.py ENDPOINT TEMPLATE BUS GROUP PREFIX
"""

import json
import sys

import boto3
import yaml

ITEM_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
}


# The variables whose values the code reads from Secrets Manager (adapters::secrets).
SECRET_VARIABLES = {
    "SLACK_SIGNING_SECRET",
    "GAVEL_COMPONENT_SECRET",
    "SLACK_BOT_TOKEN",
    "DISCORD_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "TELEGRAM_BOT_TOKEN",
    "SLACK_ADMIN_USER_TOKEN",
}


class TemplateLoader(yaml.SafeLoader):
    """CloudFormation's short tags (!Ref, !Sub, !GetAtt, ...) read as their plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _if_tag(loader, node):
    """`!If [condition, then, else]` read as its `then`: the widest grant the template can make
    (every optional feature on) is the one the suite must prove is still the least."""
    return loader.construct_sequence(node, deep=True)[1]


TemplateLoader.add_constructor("!If", _if_tag)
TemplateLoader.add_multi_constructor("!", _any_tag)


def granted(template):
    """Function logical id -> the sorted names of what its statements allow."""
    out = {}
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        names = set()
        for policy in resource.get("Properties", {}).get("Policies", []):
            if not isinstance(policy, dict):
                continue
            for statement in policy.get("Statement", []):
                if statement.get("Effect") != "Allow":
                    continue
                actions = statement["Action"]
                actions = actions if isinstance(actions, list) else [actions]
                on_index = "/index/" in json.dumps(statement.get("Resource", ""))
                for action in actions:
                    names.add(f"{action} on the due index" if on_index else action)
        out[name] = sorted(names)
    return out


def secret_ids(function, prefix):
    """The function's `{NAME}_ID` variables, `${SecretName}` read as `prefix`."""
    variables = function.get("Properties", {}).get("Environment", {}).get("Variables", {})
    return {
        name: str(value).replace("${SecretName}", prefix)
        for name, value in variables.items()
        if name.endswith("_ID") and name[: -len("_ID")] in SECRET_VARIABLES
    }


def moto_actions(names):
    """What moto must allow for these grants (see the module docs)."""
    actions = {name.split(" ")[0] for name in names}
    if actions & ITEM_WRITES:
        actions.add("dynamodb:TransactWriteItems")
    return sorted(actions)


def main():
    endpoint, template_path, bus, group, prefix = sys.argv[1:6]
    with open(template_path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=TemplateLoader)
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    iam = session.client("iam", endpoint_url=endpoint)
    session.client("events", endpoint_url=endpoint).create_event_bus(Name=bus)
    session.client("scheduler", endpoint_url=endpoint).create_schedule_group(Name=group)

    def user(name, actions):
        iam.create_user(UserName=name)
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
        iam.put_user_policy(
            UserName=name, PolicyName="least", PolicyDocument=json.dumps(document)
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}

    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    for value in [
        "slack-signing-secret",
        "component-secret",
        "slack-bot-token",
        "discord-bot-token",
        "telegram-webhook-secret",
        "telegram-bot-token",
        "slack-admin-user-token",
    ]:
        secrets.create_secret(Name=f"{prefix}/{value}", SecretString=f"made-up {value} for tests")

    functions = {}
    for name, names in granted(template).items():
        creds = user(f"gavel-{name}", moto_actions(names) or ["none:None"])
        creds["granted"] = names
        creds["secret_ids"] = secret_ids(template["Resources"][name], prefix)
        functions[name] = creds
    print(json.dumps({"functions": functions}))


if __name__ == "__main__":
    main()
