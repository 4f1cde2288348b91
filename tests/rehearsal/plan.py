#!/usr/bin/env python3
"""Deploy rehearsal, step 1: what a deploy of template.yaml would build, resolved to values.

Reads the SAM template and one environment of samconfig.toml, checks the parameters as
CloudFormation would (made-up values stand in for the REPLACE_WITH_ placeholders, and are
listed), translates the template with aws-sam-translator (the library `sam deploy` uses), then
resolves the translated CloudFormation itself: conditions, every intrinsic function, and a
deterministic physical name and ARN for each resource, in the formats AWS uses. moto's
CloudFormation cannot create the translated template (no Scheduler, alarms or queue policies),
so provision.py creates what this plan names through each service's own API, and the Rust
driver runs the real function binaries with the environment, permissions and event sources
written here.

Nothing is hard-coded about Gavel's resources: everything is found by resource type and by
following references (a rule's target ARN, a Url's target function, an API's integration URI).

Usage:
  plan.py --template template.yaml --samconfig samconfig.toml --env dev \
          --endpoint http-api|function-urls [--region us-east-1] [--account 123456789012] \
          [--discord-public-key HEX] [--set Name=Value ...] > plan.json

The output's keys are the contract with the Rust driver (tests/rehearsal/README.md).
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shlex
import sys
import tomllib

PLACEHOLDER = "REPLACE_WITH_"
SUFFIX = "REHEARSAL"
NOVALUE = object()  # what Ref AWS::NoValue resolves to: dropped from its map or list


class PlanError(Exception):
    """A deploy of this template with these parameters would fail, or the plan cannot say what
    it would build; the message names the resource and the property."""


# The AWS managed policies a translation may attach, with their documents (as AWS publishes
# them), because an IAM user in moto must carry every statement the function's role grants.
MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": ["*"],
        }
    ],
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": ["*"],
        }
    ],
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": ["*"],
        }
    ],
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": ["*"],
        }
    ],
}

# Per type: the property that names the resource, and the longest name the service accepts.
NAME_PROPERTY = {
    "AWS::DynamoDB::Table": ("TableName", 255),
    "AWS::SQS::Queue": ("QueueName", 80),
    "AWS::Events::EventBus": ("Name", 256),
    "AWS::Events::Rule": ("Name", 64),
    "AWS::Lambda::Function": ("FunctionName", 64),
    "AWS::IAM::Role": ("RoleName", 64),
    "AWS::IAM::User": ("UserName", 64),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", 128),
    "AWS::SNS::Topic": ("TopicName", 256),
    "AWS::Scheduler::ScheduleGroup": ("Name", 64),
    "AWS::Scheduler::Schedule": ("Name", 64),
    "AWS::Logs::LogGroup": ("LogGroupName", 512),
    "AWS::CloudWatch::Alarm": ("AlarmName", 255),
    "AWS::CloudWatch::Dashboard": ("DashboardName", 255),
    "AWS::SecretsManager::Secret": ("Name", 512),
    "AWS::S3::Bucket": ("BucketName", 63),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", 80),
}


# ---------------------------------------------------------------------------------------------
# Parameters


def unquote(value):
    """`'AlarmTopicArn=""'` in samconfig means an empty value: SAM strips one pair of quotes."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_overrides(raw):
    """samconfig's parameter_overrides: a TOML list of `Key=Value` strings, or one string of
    shell-quoted `Key=Value` words (both forms SAM accepts)."""
    items = raw if isinstance(raw, list) else shlex.split(raw or "")
    out = {}
    for item in items:
        if "=" not in item:
            raise PlanError(f"samconfig parameter_overrides: {item!r} is not Key=Value")
        key, value = item.split("=", 1)
        out[key.strip()] = unquote(value)
    return out


def read_samconfig(path, env):
    """The environment's stack name and parameter overrides ([ENV.deploy.parameters]), the
    section `sam deploy --config-env ENV` reads (and only that one)."""
    with open(path, "rb") as f:
        config = tomllib.load(f)
    try:
        section = config[env]["deploy"]["parameters"]
    except KeyError:
        raise PlanError(f"samconfig {path}: no [{env}.deploy.parameters] section") from None
    if "stack_name" not in section:
        raise PlanError(f"samconfig [{env}.deploy.parameters]: no stack_name")
    return section, parse_overrides(section.get("parameter_overrides", []))


def parse_stack_tags(raw):
    """samconfig's `tags`: `key="value" key2="value2"` (or a list of such), the stack's tags,
    which CloudFormation puts on every resource of the stack that takes tags."""
    import shlex

    items = raw if isinstance(raw, list) else shlex.split(raw or "")
    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise PlanError(f"samconfig tags: {item!r} is not key=value")
        tags[key] = unquote(value)
    return tags


def violation(name, spec, value):
    """Why CloudFormation would refuse this value for this parameter, or None."""
    kind = spec.get("Type", "String")
    allowed = spec.get("AllowedValues")
    if allowed is not None and str(value) not in [str(a) for a in allowed]:
        return f"{value!r} is not one of AllowedValues {allowed}"
    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"{value!r} is not a Number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"{value} is below MinValue {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"{value} is above MaxValue {spec['MaxValue']}"
    elif kind == "String":
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            return f"{value!r} does not match AllowedPattern {pattern!r}"
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            return f"{value!r} is shorter than MinLength {spec['MinLength']}"
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            return f"{value!r} is longer than MaxLength {spec['MaxLength']}"
    elif kind.startswith("AWS::SSM::"):
        return f"type {kind} needs Parameter Store, which a rehearsal has not"
    return None


def rehearsal_ed25519_public_key():
    """A valid Ed25519 public key (64 hex) from a fixed, published seed, for a placeholder that
    wants one: a random 32 bytes is often not a curve point, and the code would refuse it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    seed = hashlib.sha256(b"gavel-rehearsal").digest()
    key = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex(), seed.hex()


def made_up_candidates(region, account):
    """Values tried in order for a placeholder, the first its constraints accept: empty (an
    optional setting left out), a key, an id, a name, an address, an ARN."""
    public_key, _seed = rehearsal_ed25519_public_key()
    return [
        "",
        public_key,
        "123456789012345678",
        "rehearsal",
        "rehearsal@example.com",
        f"arn:aws:sns:{region}:{account}:rehearsal",
    ]


def resolve_parameters(template, overrides, forced, region, account):
    """The stack's parameter values: the template's defaults under samconfig's overrides under
    the command line's (`forced`). A placeholder the constraints refuse becomes a made-up valid
    value (returned in `substituted`, since the real deploy would refuse the placeholder); any
    other violation fails, as CloudFormation would."""
    specs = template.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(specs))
    if unknown:
        raise PlanError(f"samconfig overrides parameters the template does not have: {unknown}")
    values = {}
    for name, spec in specs.items():
        if name in overrides:
            values[name] = overrides[name]
        elif "Default" in spec:
            values[name] = str(spec["Default"]) if not isinstance(spec["Default"], list) else (
                ",".join(str(v) for v in spec["Default"])
            )
        else:
            raise PlanError(f"parameter {name}: no value in samconfig and no Default")
    for name, value in forced.items():
        if name not in specs:
            raise PlanError(f"--set {name}: the template has no such parameter")
        values[name] = value
    substituted = {}
    for name, spec in specs.items():
        problem = violation(name, spec, values[name])
        if problem is None:
            continue
        if PLACEHOLDER in values[name]:
            for candidate in made_up_candidates(region, account):
                if violation(name, spec, candidate) is None:
                    substituted[name] = {"was": values[name], "now": candidate}
                    values[name] = candidate
                    break
            else:
                raise PlanError(
                    f"parameter {name}: placeholder {values[name]!r} {problem}, and no made-up "
                    f"value fits; pass --set {name}=VALUE"
                )
            continue
        hint = spec.get("ConstraintDescription")
        raise PlanError(f"parameter {name}: {problem}" + (f" ({hint})" if hint else ""))
    return values, substituted


# ---------------------------------------------------------------------------------------------
# Translation


class ManagedPolicyLoader:
    """What samtranslator asks for when a function's Policies name an AWS managed policy: its
    ARN by name, from the table above (no IAM call)."""

    def load(self):
        return {arn.rsplit("/", 1)[1]: arn for arn in MANAGED_POLICIES}


def packaged(template):
    """The template as `sam package` hands it on: a local CodeUri/ContentUri becomes an S3 URI
    (the translator refuses local paths). The code itself is the driver's business."""
    for logical_id, resource in (template.get("Resources") or {}).items():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://rehearsal-artifacts/{logical_id}"
    function_globals = ((template.get("Globals") or {}).get("Function")) or {}
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = "s3://rehearsal-artifacts/globals"
    return template


def translate(template, parameters, region, account, stack_name):
    """The CloudFormation template `sam deploy` would send, from samtranslator itself."""
    from samtranslator.translator.transform import transform

    os.environ["AWS_DEFAULT_REGION"] = region  # the translator asks boto3 for the region
    values = dict(parameters)
    values.update({"AWS::Region": region, "AWS::AccountId": account,
                   "AWS::Partition": "aws", "AWS::StackName": stack_name})
    try:
        return transform(packaged(template), values, ManagedPolicyLoader())
    except Exception as error:  # the translator's own errors name the resource
        raise PlanError(f"samtranslator refused the template: {error}") from error


# ---------------------------------------------------------------------------------------------
# Names and identities


def digest(*parts, alphabet="0123456789abcdefghijklmnopqrstuvwxyz", length=10):
    """A deterministic id (API ids, URL ids, key ids): the same plan gives the same names."""
    number = int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest(), "big")
    out = ""
    while len(out) < length:
        number, rest = divmod(number, len(alphabet))
        out += alphabet[rest]
    return out


def generated_name(stack, logical_id, limit, lowercase=False, suffix=""):
    """CloudFormation's `{stack}-{LogicalId}-{random}` with the random part fixed to REHEARSAL,
    the logical id and then the stack name trimmed to fit the service's limit."""
    tail = f"-{SUFFIX}{suffix}"
    room = limit - len(tail) - 1
    name_part = logical_id[: max(room - len(stack), room // 2)]
    stack_part = stack[: room - len(name_part)]
    name = f"{stack_part}-{name_part}{tail}"
    return name.lower() if lowercase else name


def uuid_like(*parts):
    """A UUID-shaped deterministic id (KMS key ids, event source mappings)."""
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class Stack:
    """The translated template with its parameters: evaluates conditions and intrinsic
    functions, and gives each resource its physical name, Ref value and attributes."""

    def __init__(self, template, parameters, region, account, stack_name):
        self.template = template
        self.resources = template.get("Resources") or {}
        self.region, self.account, self.name = region, account, stack_name
        specs = template.get("Parameters") or {}
        self.parameters = {}
        for key, value in parameters.items():
            kind = (specs.get(key) or {}).get("Type", "String")
            is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
            self.parameters[key] = value.split(",") if is_list and value else value
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/"
            + uuid_like(stack_name),
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        self.conditions = {}
        for condition in template.get("Conditions") or {}:
            self.condition(condition)
        self.kept = {
            lid for lid, res in self.resources.items()
            if "Condition" not in res or self.condition(res["Condition"])
        }
        self._identities = {}
        self._in_progress = set()

    # -- conditions

    def condition(self, name):
        """A named condition's value (each evaluated once, in any order)."""
        if name not in self.conditions:
            definitions = self.template.get("Conditions") or {}
            if name not in definitions:
                raise PlanError(f"condition {name} is not defined")
            value = self.resolve(definitions[name], f"Conditions.{name}")
            if not isinstance(value, bool):
                raise PlanError(f"condition {name} is {value!r}, not true or false")
            self.conditions[name] = value
        return self.conditions[name]

    # -- identities

    def identity(self, logical_id, where):
        """The resource's Ref value and attributes, computed on first use (a name may itself
        refer to other resources)."""
        if logical_id not in self.resources:
            raise PlanError(f"{where}: no resource or parameter named {logical_id}")
        if logical_id not in self.kept:
            raise PlanError(
                f"{where}: refers to {logical_id}, whose condition "
                f"{self.resources[logical_id]['Condition']} is false"
            )
        if logical_id not in self._identities:
            if logical_id in self._in_progress:
                raise PlanError(f"{where}: {logical_id}'s name refers to itself")
            self._in_progress.add(logical_id)
            self._identities[logical_id] = self._make_identity(logical_id)
            self._in_progress.discard(logical_id)
        return self._identities[logical_id]

    def physical_name(self, logical_id):
        """The name the template gives the resource, or the generated one."""
        resource = self.resources[logical_id]
        kind = resource["Type"]
        prop, limit = NAME_PROPERTY.get(kind, (None, 255))
        props = resource.get("Properties") or {}
        if prop and prop in props:
            name = self.resolve(props[prop], f"{logical_id}.{prop}")
            if name is not NOVALUE:
                if len(str(name)) > limit:
                    raise PlanError(f"{logical_id}.{prop}: {name!r} is longer than {limit}")
                return str(name)
        fifo = kind == "AWS::SQS::Queue" and self.resolve(
            props.get("FifoQueue", False), f"{logical_id}.FifoQueue"
        ) in (True, "true")
        fifo = fifo or (kind == "AWS::SNS::Topic" and self.resolve(
            props.get("FifoTopic", False), f"{logical_id}.FifoTopic") in (True, "true"))
        return generated_name(
            self.name, logical_id, limit, lowercase=kind == "AWS::S3::Bucket",
            suffix=".fifo" if fifo else "",
        )

    def _make_identity(self, lid):
        """Ref and GetAtt values by type, in the formats AWS returns."""
        kind = self.resources[lid]["Type"]
        props = self.resources[lid].get("Properties") or {}
        r, a = self.region, self.account

        def prop(key, default=None):
            value = self.resolve(props.get(key, default), f"{lid}.{key}")
            return default if value is NOVALUE else value

        name = self.physical_name(lid)
        if kind == "AWS::DynamoDB::Table":
            arn = f"arn:aws:dynamodb:{r}:{a}:table/{name}"
            return {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/1970-01-01T00:00:00.000"}
        if kind == "AWS::SQS::Queue":
            url = f"https://sqs.{r}.amazonaws.com/{a}/{name}"
            return {"Ref": url, "Arn": f"arn:aws:sqs:{r}:{a}:{name}", "QueueName": name,
                    "QueueUrl": url}
        if kind == "AWS::Events::EventBus":
            return {"Ref": name, "Name": name, "Arn": f"arn:aws:events:{r}:{a}:event-bus/{name}"}
        if kind == "AWS::Events::Rule":
            bus = bus_name(prop("EventBusName", "default"))
            if bus == "default":
                return {"Ref": name, "Arn": f"arn:aws:events:{r}:{a}:rule/{name}"}
            return {"Ref": f"{bus}|{name}", "Arn": f"arn:aws:events:{r}:{a}:rule/{bus}/{name}"}
        if kind == "AWS::Lambda::Function":
            return {"Ref": name, "Arn": f"arn:aws:lambda:{r}:{a}:function:{name}"}
        if kind == "AWS::Lambda::Url":
            target = str(prop("TargetFunctionArn"))
            url_id = digest(self.name, lid, length=32)
            qualifier = prop("Qualifier")
            function_arn = self.function_arn_of(target) + (f":{qualifier}" if qualifier else "")
            return {"Ref": function_arn, "FunctionArn": function_arn,
                    "FunctionUrl": f"https://{url_id}.lambda-url.{r}.on.aws/"}
        if kind == "AWS::Lambda::Version":
            function_arn = self.function_arn_of(str(prop("FunctionName")))
            return {"Ref": f"{function_arn}:1", "Version": "1"}
        if kind == "AWS::Lambda::Alias":
            function_arn = self.function_arn_of(str(prop("FunctionName")))
            return {"Ref": f"{function_arn}:{prop('Name')}"}
        if kind == "AWS::Lambda::EventSourceMapping":
            uid = uuid_like(self.name, lid)
            return {"Ref": uid, "Id": uid,
                    "EventSourceMappingArn": f"arn:aws:lambda:{r}:{a}:event-source-mapping:{uid}"}
        if kind == "AWS::IAM::Role":
            path = prop("Path", "/")
            return {"Ref": name, "Arn": f"arn:aws:iam::{a}:role{path}{name}",
                    "RoleId": "AROA" + digest(self.name, lid, length=17).upper()}
        if kind == "AWS::IAM::ManagedPolicy":
            path = prop("Path", "/")
            arn = f"arn:aws:iam::{a}:policy{path}{name}"
            return {"Ref": arn, "PolicyArn": arn}
        if kind == "AWS::SNS::Topic":
            arn = f"arn:aws:sns:{r}:{a}:{name}"
            return {"Ref": arn, "TopicArn": arn, "TopicName": name}
        if kind == "AWS::SNS::Subscription":
            return {"Ref": f"arn:aws:sns:{r}:{a}:subscription:{uuid_like(self.name, lid)}"}
        if kind == "AWS::KMS::Key":
            key_id = uuid_like(self.name, lid)
            return {"Ref": key_id, "KeyId": key_id, "Arn": f"arn:aws:kms:{r}:{a}:key/{key_id}"}
        if kind == "AWS::Scheduler::ScheduleGroup":
            return {"Ref": name, "Arn": f"arn:aws:scheduler:{r}:{a}:schedule-group/{name}",
                    "State": "ACTIVE"}
        if kind == "AWS::Scheduler::Schedule":
            group = prop("GroupName", "default")
            return {"Ref": name, "Arn": f"arn:aws:scheduler:{r}:{a}:schedule/{group}/{name}"}
        if kind == "AWS::Logs::LogGroup":
            return {"Ref": name, "Arn": f"arn:aws:logs:{r}:{a}:log-group:{name}:*"}
        if kind == "AWS::CloudWatch::Alarm":
            return {"Ref": name, "Arn": f"arn:aws:cloudwatch:{r}:{a}:alarm:{name}"}
        if kind == "AWS::SecretsManager::Secret":
            arn = f"arn:aws:secretsmanager:{r}:{a}:secret:{name}-{digest(self.name, lid, length=6)}"
            return {"Ref": arn, "Id": arn}
        if kind == "AWS::S3::Bucket":
            return {"Ref": name, "Arn": f"arn:aws:s3:::{name}",
                    "DomainName": f"{name}.s3.amazonaws.com"}
        if kind == "AWS::ApiGatewayV2::Api":
            api_id = digest(self.name, lid, length=10)
            return {"Ref": api_id, "ApiId": api_id,
                    "ApiEndpoint": f"https://{api_id}.execute-api.{r}.amazonaws.com"}
        if kind == "AWS::ApiGateway::RestApi":
            api_id = digest(self.name, lid, length=10)
            return {"Ref": api_id, "RestApiId": api_id, "RootResourceId": digest(api_id, length=10)}
        if kind in ("AWS::ApiGatewayV2::Stage", "AWS::ApiGateway::Stage"):
            return {"Ref": prop("StageName", name)}
        # Permissions, invoke configs, queue policies, dashboards...: a Ref is an opaque id.
        return {"Ref": name}

    def function_arn_of(self, value):
        """A function's ARN from what a property holds: its name or its ARN."""
        if value.startswith("arn:"):
            return value
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{value}"

    # -- intrinsic functions

    def ref(self, name, where):
        """Ref: a parameter, a pseudo parameter or a resource."""
        if name == "AWS::NoValue":
            return NOVALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.identity(name, where)["Ref"]

    def get_att(self, logical_id, attribute, where):
        """Fn::GetAtt, failing on an attribute the plan does not model."""
        attributes = self.identity(logical_id, where)
        if attribute not in attributes or attribute == "Ref":
            kind = self.resources[logical_id]["Type"]
            raise PlanError(
                f"{where}: Fn::GetAtt {logical_id}.{attribute} ({kind}) is not modelled by "
                f"plan.py; add it to Stack._make_identity"
            )
        return attributes[attribute]

    def sub(self, argument, where):
        """Fn::Sub in both forms; `${!Literal}` stays `${Literal}`."""
        if isinstance(argument, list):
            text, variables = argument[0], self.resolve(argument[1], where)
        else:
            text, variables = argument, {}

        def replace(match):
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                value = variables[inner]
            elif "." in inner and inner.split(".", 1)[0] in self.resources:
                logical_id, attribute = inner.split(".", 1)
                value = self.get_att(logical_id, attribute, where)
            else:
                value = self.ref(inner, where)
            if value is NOVALUE or isinstance(value, (list, dict)):
                raise PlanError(f"{where}: Fn::Sub ${{{inner}}} is not a string")
            return scalar_string(value)

        return re.sub(r"\$\{([^}]*)\}", replace, text)

    def resolve(self, value, where):
        """Evaluates every intrinsic function in a value; AWS::NoValue drops the key or item."""
        if isinstance(value, list):
            items = [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return [v for v in items if v is not NOVALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg, where)
            if key == "Condition" and isinstance(arg, str) and where.startswith("Conditions."):
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self.intrinsic(key, arg, where)
        out = {}
        for k, v in value.items():
            resolved = self.resolve(v, f"{where}.{k}")
            if resolved is not NOVALUE:
                out[k] = resolved
        return out

    def intrinsic(self, key, arg, where):
        """One Fn:: function (its arguments resolved as CloudFormation does, If lazily)."""
        here = f"{where}.{key}"
        if key == "Fn::If":
            name, then, otherwise = arg
            return self.resolve(then if self.condition(name) else otherwise, here)
        if key == "Fn::Sub":
            return self.sub(arg, here)
        if key == "Fn::GetAtt":
            logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
            return self.get_att(logical_id, self.resolve(attribute, here), here)
        if key == "Fn::Equals":
            left, right = (self.resolve(v, here) for v in arg)
            return scalar_string(left) == scalar_string(right)
        if key == "Fn::Not":
            return not self.truth(arg[0], here)
        if key == "Fn::And":
            return all(self.truth(v, here) for v in arg)
        if key == "Fn::Or":
            return any(self.truth(v, here) for v in arg)
        if key == "Fn::Join":
            delimiter, items = arg[0], self.resolve(arg[1], here)
            return delimiter.join(scalar_string(v) for v in items)
        if key == "Fn::Select":
            index, items = self.resolve(arg[0], here), self.resolve(arg[1], here)
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, text = arg[0], self.resolve(arg[1], here)
            return text.split(delimiter)
        if key == "Fn::FindInMap":
            name, top, second = (self.resolve(v, here) for v in arg[:3])
            try:
                return self.template["Mappings"][name][top][second]
            except KeyError:
                raise PlanError(f"{here}: no {name}.{top}.{second} in Mappings") from None
        if key == "Fn::Base64":
            return base64.b64encode(self.resolve(arg, here).encode()).decode()
        if key == "Fn::GetAZs":
            return [f"{self.region}{z}" for z in "abc"]
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg, here), separators=(",", ":"))
        if key == "Fn::Length":
            return len(self.resolve(arg, here))
        raise PlanError(f"{here}: intrinsic function {key} is not supported by plan.py")

    def truth(self, value, where):
        """A condition operand: a nested function or a `{"Condition": name}`."""
        if isinstance(value, dict) and set(value) == {"Condition"}:
            return self.condition(value["Condition"])
        result = self.resolve(value, where)
        if not isinstance(result, bool):
            raise PlanError(f"{where}: {result!r} is not true or false")
        return result


def scalar_string(value):
    """How CloudFormation writes a scalar into a string (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def bus_name(value):
    """An EventBusName property may hold the bus's name or its ARN."""
    value = str(value)
    return value.rsplit("/", 1)[1] if value.startswith("arn:") else value


# ---------------------------------------------------------------------------------------------
# The plan


def as_list(value):
    """IAM lets Action and Resource be one string or a list; the plan always lists."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def normalize_statement(statement):
    """An IAM statement with Action/Resource (and Not forms) as lists."""
    out = {"Effect": statement.get("Effect", "Allow")}
    if "Sid" in statement:
        out["Sid"] = statement["Sid"]
    for key in ("Principal", "NotPrincipal"):
        if key in statement:
            out[key] = statement[key]
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in statement:
            out[key] = as_list(statement[key])
    if "Condition" in statement:
        out["Condition"] = statement["Condition"]
    return out


def tags_of(props):
    """Tags as a map, from CloudFormation's list of Key/Value (or an already-map form)."""
    tags = props.get("Tags") or {}
    if isinstance(tags, list):
        return {t["Key"]: scalar_string(t["Value"]) for t in tags}
    return {k: scalar_string(v) for k, v in tags.items()}


def int_or_none(value):
    """Numbers from parameters arrive as strings."""
    return None if value is None else int(value)


def parse_json_maybe(value):
    """Inputs and patterns may be JSON text or already a structure."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def taggable_types():
    """Which resource types take Tags, from the CloudFormation resource schemas cfn-lint ships
    (the same ones CloudFormation publishes), so a new type needs no table here."""
    try:
        import cfnlint
    except ImportError:
        return None
    base = os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas")
    index_path = os.path.join(base, "providers", "us-east-1.json")
    try:
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
    except OSError:
        return None

    def taggable(kind):
        path = os.path.join(base, "resources", f"{index[kind]}.json")
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
        return bool(schema.get("tagging", {}).get("taggable")) and "Tags" in schema.get(
            "properties", {}
        )

    return lambda kind: kind in index and taggable(kind)


def user_tags(tags):
    """Tags the template set (SAM's own `*:createdBy = SAM` markers do not count)."""
    return {k: v for k, v in tags.items() if not (k.endswith(":createdBy") and v == "SAM")}


class Planner:
    """Builds the plan's sections from the resolved resources, walking them by type."""

    def __init__(self, stack):
        self.stack = stack
        self.props = {}
        for lid in sorted(stack.kept):
            props = stack.resources[lid].get("Properties") or {}
            self.props[lid] = stack.resolve(props, lid)

    def of_type(self, kind):
        """Logical ids of kept resources of one type, in template order."""
        return [lid for lid, res in self.stack.resources.items()
                if res["Type"] == kind and lid in self.stack.kept]

    def ident(self, lid):
        return self.stack.identity(lid, lid)

    def refers_to(self, value, lid):
        """Whether a resolved value names a resource (by Ref value, ARN or qualified ARN)."""
        if not isinstance(value, str):
            return False
        ident = self.ident(lid)
        names = {ident["Ref"], ident.get("Arn")} - {None}
        return value in names or any(value.startswith(f"{n}:") for n in names if n.startswith("arn:"))

    def function_of(self, value):
        """The logical id of the stack's function a value names, or None."""
        for lid in self.of_type("AWS::Lambda::Function"):
            if self.refers_to(value, lid):
                return lid
        return None

    def queue_of(self, arn):
        for lid in self.of_type("AWS::SQS::Queue"):
            if self.ident(lid)["Arn"] == arn:
                return lid
        return None

    # -- resources

    def roles(self):
        """Each role with every statement it grants: inline policies, policies attached to it
        (AWS::IAM::Policy/ManagedPolicy in the stack) and AWS managed policies' documents."""
        out = []
        for lid in self.of_type("AWS::IAM::Role"):
            p = self.props[lid]
            statements = []
            for policy in p.get("Policies", []):
                doc = policy.get("PolicyDocument", {})
                statements += [normalize_statement(s) for s in as_list(doc.get("Statement"))]
            managed = list(p.get("ManagedPolicyArns", []))
            for plid in self.of_type("AWS::IAM::Policy") + self.of_type("AWS::IAM::ManagedPolicy"):
                pp = self.props[plid]
                if any(self.refers_to(role, lid) for role in pp.get("Roles", [])):
                    doc = pp.get("PolicyDocument", {})
                    statements += [normalize_statement(s) for s in as_list(doc.get("Statement"))]
            stack_policies = {self.ident(m)["Ref"]: m for m in self.of_type("AWS::IAM::ManagedPolicy")}
            for arn in managed:
                if arn in stack_policies:
                    continue  # counted above, through its Roles
                if arn not in MANAGED_POLICIES:
                    raise PlanError(
                        f"{lid}.ManagedPolicyArns: plan.py does not know the document of {arn}; "
                        f"add it to MANAGED_POLICIES"
                    )
                statements += [normalize_statement(s) for s in MANAGED_POLICIES[arn]]
            assume = p.get("AssumeRolePolicyDocument", {})
            services = []
            for s in as_list(assume.get("Statement")):
                services += as_list((s.get("Principal") or {}).get("Service"))
            out.append({
                "logical_id": lid, "name": self.ident(lid)["Ref"], "arn": self.ident(lid)["Arn"],
                "statements": statements, "managed_policy_arns": managed,
                "assumed_by": services, "assume_role_policy": assume, "tags": tags_of(p),
            })
        return out

    def tables(self):
        out = []
        for lid in self.of_type("AWS::DynamoDB::Table"):
            p = self.props[lid]
            ttl = p.get("TimeToLiveSpecification") or {}
            out.append({
                "logical_id": lid, "name": self.ident(lid)["Ref"], "arn": self.ident(lid)["Arn"],
                "attribute_definitions": p.get("AttributeDefinitions", []),
                "key_schema": p.get("KeySchema", []),
                "global_secondary_indexes": p.get("GlobalSecondaryIndexes", []),
                "local_secondary_indexes": p.get("LocalSecondaryIndexes", []),
                "billing_mode": p.get("BillingMode", "PROVISIONED"),
                "provisioned_throughput": p.get("ProvisionedThroughput"),
                "stream_specification": p.get("StreamSpecification"),
                "ttl_attribute": ttl.get("AttributeName") if ttl.get("Enabled") in (True, "true") else None,
                "deletion_protection": p.get("DeletionProtectionEnabled") in (True, "true"),
                "point_in_time_recovery": (p.get("PointInTimeRecoverySpecification") or {}).get(
                    "PointInTimeRecoveryEnabled") in (True, "true"),
                "sse": (p.get("SSESpecification") or {}).get("SSEEnabled") in (True, "true"),
                "deletion_policy": self.stack.resources[lid].get("DeletionPolicy", "Delete"),
                "tags": tags_of(p),
            })
        return out

    def event_buses(self):
        return [{"logical_id": lid, "name": self.ident(lid)["Ref"], "arn": self.ident(lid)["Arn"],
                 "tags": tags_of(self.props[lid])}
                for lid in self.of_type("AWS::Events::EventBus")]

    def rules(self):
        out = []
        for lid in self.of_type("AWS::Events::Rule"):
            p = self.props[lid]
            targets = []
            for t in p.get("Targets", []):
                targets.append({
                    "id": t.get("Id"), "arn": t.get("Arn"),
                    "dead_letter_arn": (t.get("DeadLetterConfig") or {}).get("Arn"),
                    "retry_policy": t.get("RetryPolicy"),
                    "input": parse_json_maybe(t.get("Input")),
                    "input_path": t.get("InputPath"),
                    "input_transformer": t.get("InputTransformer"),
                    "role_arn": t.get("RoleArn"),
                    "sqs_parameters": t.get("SqsParameters"),
                    "function_logical_id": self.function_of(t.get("Arn")),
                    "queue_logical_id": self.queue_of(t.get("Arn")),
                })
            name = self.ident(lid)["Ref"].split("|")[-1]
            out.append({
                "logical_id": lid, "name": name, "arn": self.ident(lid)["Arn"],
                "bus": bus_name(p.get("EventBusName", "default")),
                "pattern": parse_json_maybe(p.get("EventPattern")),
                "schedule_expression": p.get("ScheduleExpression"),
                "state": p.get("State", "ENABLED"), "description": p.get("Description"),
                "targets": targets, "tags": tags_of(p),
            })
        return out

    def queues(self):
        out = []
        skip = {"QueueName", "Tags"}
        for lid in self.of_type("AWS::SQS::Queue"):
            p, ident = self.props[lid], self.ident(lid)
            attributes = {}
            for key, value in p.items():
                if key in skip:
                    continue
                if key in ("RedrivePolicy", "RedriveAllowPolicy") and not isinstance(value, str):
                    value = json.dumps(value, separators=(",", ":"))
                attributes[key] = scalar_string(value)
            dlq = parse_json_maybe(p.get("RedrivePolicy") or "{}").get("deadLetterTargetArn")
            out.append({
                "logical_id": lid, "name": ident["QueueName"], "arn": ident["Arn"],
                "url": ident["QueueUrl"], "url_path": f"/{self.stack.account}/{ident['QueueName']}",
                "attributes": attributes, "dead_letter_queue_arn": dlq, "tags": tags_of(p),
            })
        return out

    def queue_policies(self):
        out = []
        for lid in self.of_type("AWS::SQS::QueuePolicy"):
            p = self.props[lid]
            urls = p.get("Queues", [])
            names = [u.rsplit("/", 1)[-1] for u in urls]
            out.append({"logical_id": lid, "queue_urls": urls, "queue_names": names,
                        "policy": p.get("PolicyDocument")})
        return out

    def topics(self):
        return [{"logical_id": lid, "name": self.ident(lid)["TopicName"],
                 "arn": self.ident(lid)["TopicArn"],
                 "display_name": self.props[lid].get("DisplayName"),
                 "kms_master_key_id": self.props[lid].get("KmsMasterKeyId"),
                 "fifo": self.props[lid].get("FifoTopic") in (True, "true"),
                 "tags": tags_of(self.props[lid])}
                for lid in self.of_type("AWS::SNS::Topic")]

    def subscriptions(self):
        return [{"logical_id": lid, "topic_arn": self.props[lid].get("TopicArn"),
                 "protocol": self.props[lid].get("Protocol"),
                 "endpoint": self.props[lid].get("Endpoint"),
                 "function_logical_id": self.function_of(self.props[lid].get("Endpoint"))}
                for lid in self.of_type("AWS::SNS::Subscription")]

    def kms_keys(self):
        return [{"logical_id": lid, "key_id": self.ident(lid)["KeyId"], "arn": self.ident(lid)["Arn"],
                 "description": self.props[lid].get("Description"),
                 "enable_key_rotation": self.props[lid].get("EnableKeyRotation") in (True, "true"),
                 "key_policy": self.props[lid].get("KeyPolicy"), "tags": tags_of(self.props[lid])}
                for lid in self.of_type("AWS::KMS::Key")]

    def schedule_groups(self):
        return [{"logical_id": lid, "name": self.ident(lid)["Ref"], "arn": self.ident(lid)["Arn"],
                 "tags": tags_of(self.props[lid])}
                for lid in self.of_type("AWS::Scheduler::ScheduleGroup")]

    def schedules(self):
        out = []
        for lid in self.of_type("AWS::Scheduler::Schedule"):
            p = self.props[lid]
            target = p.get("Target") or {}
            out.append({
                "logical_id": lid, "name": self.ident(lid)["Ref"], "arn": self.ident(lid)["Arn"],
                "group": p.get("GroupName", "default"),
                "expression": p.get("ScheduleExpression"),
                "timezone": p.get("ScheduleExpressionTimezone"),
                "flexible_time_window": p.get("FlexibleTimeWindow", {"Mode": "OFF"}),
                "state": p.get("State", "ENABLED"), "description": p.get("Description"),
                "target_arn": target.get("Arn"), "role_arn": target.get("RoleArn"),
                "input": parse_json_maybe(target.get("Input")),
                "retry_policy": target.get("RetryPolicy"),
                "dead_letter_arn": (target.get("DeadLetterConfig") or {}).get("Arn"),
                "function_logical_id": self.function_of(target.get("Arn")),
            })
        return out

    def log_groups(self):
        return [{"logical_id": lid, "name": self.ident(lid)["Ref"], "arn": self.ident(lid)["Arn"],
                 "retention_in_days": int_or_none(self.props[lid].get("RetentionInDays")),
                 "tags": tags_of(self.props[lid])}
                for lid in self.of_type("AWS::Logs::LogGroup")]

    def apis(self):
        """HTTP and REST APIs with their routes (from the translated OpenAPI body) and the
        function each route invokes."""
        out = []
        for kind in ("AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi"):
            for lid in self.of_type(kind):
                body = self.props[lid].get("Body") or {}
                routes = []
                for path, methods in (body.get("paths") or {}).items():
                    for method, operation in methods.items():
                        integration = (operation or {}).get("x-amazon-apigateway-integration") or {}
                        uri = str(integration.get("uri", ""))
                        match = re.search(r"functions/(arn:[^/]+)/invocations", uri)
                        function = self.function_of(match.group(1)) if match else None
                        method = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                        routes.append({"method": method, "path": path, "function_logical_id": function})
                stages = [self.props[s].get("StageName") for s in
                          self.of_type("AWS::ApiGatewayV2::Stage") + self.of_type("AWS::ApiGateway::Stage")
                          if self.refers_to(self.props[s].get("ApiId", self.props[s].get("RestApiId")), lid)]
                stage_settings = [self.props[s].get("DefaultRouteSettings") for s in
                                  self.of_type("AWS::ApiGatewayV2::Stage")
                                  if self.refers_to(self.props[s].get("ApiId"), lid)]
                api_id = self.ident(lid)["Ref"]
                base = f"https://{api_id}.execute-api.{self.stack.region}.amazonaws.com"
                stage = next((s for s in stages if s), "$default")
                if stage != "$default":
                    base += f"/{stage}"
                tags = {t["name"]: t.get("x-amazon-apigateway-tag-value", "")
                        for t in body.get("tags", []) if "x-amazon-apigateway-tag-value" in t}
                tags.update(tags_of(self.props[lid]))
                out.append({"logical_id": lid, "type": kind, "id": api_id, "base_url": base,
                            "stage": stage, "routes": routes, "tags": tags,
                            "default_route_settings": next((s for s in stage_settings if s), None)})
        return out

    def function_urls(self):
        return [{"logical_id": lid, "url": self.ident(lid)["FunctionUrl"],
                 "function_logical_id": self.function_of(self.props[lid].get("TargetFunctionArn")),
                 "auth_type": self.props[lid].get("AuthType")}
                for lid in self.of_type("AWS::Lambda::Url")]

    # -- functions

    def functions(self, roles, rules, schedules, apis, urls, subscriptions):
        """Each function with what the driver needs to run its binary as Lambda would."""
        out = {}
        role_by_arn = {r["arn"]: r for r in roles}
        for lid in self.of_type("AWS::Lambda::Function"):
            p = self.props[lid]
            resource = self.stack.resources[lid]
            role_arn = p.get("Role")
            if role_arn not in role_by_arn:
                raise PlanError(f"{lid}.Role: {role_arn!r} is not a role of this stack")
            variables = (p.get("Environment") or {}).get("Variables") or {}
            logging = dict(p.get("LoggingConfig") or {})
            logging.setdefault("LogGroup", f"/aws/lambda/{self.ident(lid)['Ref']}")
            out[lid] = {
                "binary": ((resource.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary"),
                "function_name": self.ident(lid)["Ref"], "arn": self.ident(lid)["Arn"],
                "handler": p.get("Handler"), "runtime": p.get("Runtime"),
                "timeout": int(p.get("Timeout", 3)), "memory": int(p.get("MemorySize", 128)),
                "architectures": p.get("Architectures", ["x86_64"]),
                "environment": {k: scalar_string(v) for k, v in variables.items()},
                "role_arn": role_arn, "role_logical_id": role_by_arn[role_arn]["logical_id"],
                "statements": role_by_arn[role_arn]["statements"],
                "events": self.events_of(lid, rules, schedules, apis, urls, subscriptions),
                "async": self.async_of(lid),
                "reserved_concurrency": int_or_none(p.get("ReservedConcurrentExecutions")),
                "logging": logging, "tags": tags_of(p),
            }
        return out

    def events_of(self, lid, rules, schedules, apis, urls, subscriptions):
        """What invokes the function: HTTP routes (through each API, and through its own URL
        when it has one), SQS and stream mappings, rules, schedules and SNS topics."""
        events = []
        own_urls = [u for u in urls if u["function_logical_id"] == lid]
        for api in apis:
            for route in api["routes"]:
                if route["function_logical_id"] != lid:
                    continue
                via = "http-api" if api["type"] == "AWS::ApiGatewayV2::Api" else "rest-api"
                events.append({"type": "http", "method": route["method"], "path": route["path"],
                               "via": via, "api": api["logical_id"],
                               "url": api["base_url"] + route["path"]})
                for url in own_urls:
                    events.append({"type": "http", "method": route["method"], "path": route["path"],
                                   "via": "function-url", "function_url": url["logical_id"],
                                   "url": url["url"] + route["path"].lstrip("/")})
        for mlid in self.of_type("AWS::Lambda::EventSourceMapping"):
            m = self.props[mlid]
            if self.function_of(m.get("FunctionName")) != lid:
                continue
            source = str(m.get("EventSourceArn", ""))
            common = {"mapping": mlid, "enabled": m.get("Enabled", True) in (True, "true"),
                      "maximum_batching_window": int_or_none(m.get("MaximumBatchingWindowInSeconds")),
                      "filter_criteria": m.get("FilterCriteria"),
                      "scaling_config": m.get("ScalingConfig"),
                      "report_batch_item_failures":
                          "ReportBatchItemFailures" in m.get("FunctionResponseTypes", [])}
            if source.startswith("arn:aws:sqs:"):
                events.append({"type": "sqs", "queue_arn": source,
                               "queue_name": source.rsplit(":", 1)[1],
                               "queue_logical_id": self.queue_of(source),
                               "batch_size": int(m.get("BatchSize", 10)), **common})
            else:
                events.append({"type": "stream", "source_arn": source,
                               "batch_size": int(m.get("BatchSize", 100)),
                               "starting_position": m.get("StartingPosition"), **common})
        for rule in rules:
            for target in rule["targets"]:
                if target["function_logical_id"] != lid:
                    continue
                kind = "eventbridge" if rule["pattern"] is not None else "schedule"
                events.append({"type": kind, "rule": rule["logical_id"], "rule_name": rule["name"],
                               "bus": rule["bus"], "pattern": rule["pattern"],
                               "expression": rule["schedule_expression"], "target_id": target["id"],
                               "input": target["input"], "input_path": target["input_path"],
                               "input_transformer": target["input_transformer"],
                               "dead_letter_arn": target["dead_letter_arn"],
                               "retry_policy": target["retry_policy"], "via": "eventbridge-rule"})
        for schedule in schedules:
            if schedule["function_logical_id"] != lid:
                continue
            events.append({"type": "schedule", "name": schedule["logical_id"],
                           "schedule_name": schedule["name"], "group": schedule["group"],
                           "expression": schedule["expression"], "timezone": schedule["timezone"],
                           "input": schedule["input"], "role_arn": schedule["role_arn"],
                           "retry_policy": schedule["retry_policy"],
                           "dead_letter_arn": schedule["dead_letter_arn"], "via": "scheduler"})
        for sub in subscriptions:
            if sub["function_logical_id"] == lid and sub["protocol"] == "lambda":
                events.append({"type": "sns", "topic_arn": sub["topic_arn"],
                               "subscription": sub["logical_id"]})
        return events

    def async_of(self, lid):
        """The function's asynchronous invocation settings (EventInvokeConfig), or None."""
        for clid in self.of_type("AWS::Lambda::EventInvokeConfig"):
            c = self.props[clid]
            if self.function_of(c.get("FunctionName")) != lid:
                continue
            destinations = c.get("DestinationConfig") or {}
            return {
                "maximum_retry_attempts": int_or_none(c.get("MaximumRetryAttempts")),
                "maximum_event_age_in_seconds": int_or_none(c.get("MaximumEventAgeInSeconds")),
                "on_failure": (destinations.get("OnFailure") or {}).get("Destination"),
                "on_success": (destinations.get("OnSuccess") or {}).get("Destination"),
                "qualifier": c.get("Qualifier"),
            }
        return None

    # -- alarms, outputs, tags

    def alarms(self):
        """One entry per alarm, with each metric it watches (plain or inside metric math) and
        dimensions resolved to their final values."""
        out = []
        for lid in self.of_type("AWS::CloudWatch::Alarm"):
            p = self.props[lid]
            metrics, expressions = [], []
            if "MetricName" in p:
                metrics.append({
                    "id": None, "namespace": p.get("Namespace"), "metric_name": p["MetricName"],
                    "dimensions": {d["Name"]: scalar_string(d["Value"]) for d in p.get("Dimensions", [])},
                    "stat": p.get("Statistic") or p.get("ExtendedStatistic"),
                    "period": int_or_none(p.get("Period")),
                })
            for m in p.get("Metrics", []):
                if "MetricStat" in m:
                    stat = m["MetricStat"]
                    metric = stat.get("Metric", {})
                    metrics.append({
                        "id": m.get("Id"), "namespace": metric.get("Namespace"),
                        "metric_name": metric.get("MetricName"),
                        "dimensions": {d["Name"]: scalar_string(d["Value"])
                                       for d in metric.get("Dimensions", [])},
                        "stat": stat.get("Stat"), "period": int_or_none(stat.get("Period")),
                        "return_data": m.get("ReturnData"),
                    })
                if "Expression" in m:
                    expressions.append({"id": m.get("Id"), "expression": m["Expression"],
                                        "return_data": m.get("ReturnData", True) in (True, "true")})
            returned = [e for e in expressions if e["return_data"]] or expressions
            out.append({
                "logical_id": lid, "name": self.ident(lid)["Ref"], "arn": self.ident(lid)["Arn"],
                "metrics": metrics,
                "expression": returned[0]["expression"] if returned else None,
                "expressions": expressions,
                "threshold": p.get("Threshold"), "comparison_operator": p.get("ComparisonOperator"),
                "evaluation_periods": int_or_none(p.get("EvaluationPeriods")),
                "datapoints_to_alarm": int_or_none(p.get("DatapointsToAlarm")),
                "treat_missing_data": p.get("TreatMissingData"),
                "alarm_actions": p.get("AlarmActions", []), "ok_actions": p.get("OKActions", []),
                "tags": tags_of(p),
            })
        return out

    def outputs(self):
        out = {}
        for name, output in (self.stack.template.get("Outputs") or {}).items():
            if "Condition" in output and not self.stack.condition(output["Condition"]):
                continue
            value = self.stack.resolve(output.get("Value"), f"Outputs.{name}")
            out[name] = ",".join(map(scalar_string, value)) if isinstance(value, list) else scalar_string(value)
        return out

    def untagged(self, apis):
        """Kept resources whose type takes Tags but that carry none from the template."""
        taggable = taggable_types()
        api_tags = {a["logical_id"]: a["tags"] for a in apis}
        out = []
        for lid, res in self.stack.resources.items():
            if lid not in self.stack.kept:
                continue
            kind = res["Type"]
            if taggable is None:
                takes = "Tags" in self.props[lid]
            else:
                takes = taggable(kind)
            tags = api_tags.get(lid) or tags_of(self.props[lid])
            if takes and not user_tags(tags):
                out.append(lid)
        return out


CATEGORISED = {
    "AWS::DynamoDB::Table", "AWS::Events::EventBus", "AWS::Events::Rule", "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy", "AWS::SNS::Topic", "AWS::SNS::Subscription", "AWS::KMS::Key",
    "AWS::Scheduler::ScheduleGroup", "AWS::Scheduler::Schedule", "AWS::IAM::Role",
    "AWS::Logs::LogGroup", "AWS::Lambda::Function", "AWS::CloudWatch::Alarm",
}


def build_plan(args):
    """Everything, in the contract's shape (README.md)."""
    from samtranslator.yaml_helper import yaml_parse

    with open(args.template, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    section, overrides = read_samconfig(args.samconfig, args.env)
    stack_name = section["stack_name"]
    stack_tags = parse_stack_tags(section.get("tags"))
    forced = dict(item.split("=", 1) for item in args.set)
    forced = {k: unquote(v) for k, v in forced.items()}
    if args.discord_public_key:
        forced["DiscordPublicKey"] = args.discord_public_key
    forced["Endpoint"] = args.endpoint
    parameters, substituted = resolve_parameters(
        template, overrides, forced, args.region, args.account
    )
    translated = translate(template, parameters, args.region, args.account, stack_name)
    stack = Stack(translated, parameters, args.region, args.account, stack_name)
    planner = Planner(stack)
    roles, rules, schedules = planner.roles(), planner.rules(), planner.schedules()
    apis, urls, subs = planner.apis(), planner.function_urls(), planner.subscriptions()
    public_key, seed = rehearsal_ed25519_public_key()
    made_up_keys = {name: {"ed25519_seed_hex": seed} for name, s in substituted.items()
                    if s["now"] == public_key}
    return {
        "env": args.env, "endpoint_mode": args.endpoint, "stack_name": stack_name,
        "region": args.region, "account": args.account,
        "parameters": parameters, "substituted": substituted, "made_up_keys": made_up_keys,
        "conditions": dict(sorted(stack.conditions.items())),
        "functions": planner.functions(roles, rules, schedules, apis, urls, subs),
        "resources": {
            "tables": planner.tables(), "event_buses": planner.event_buses(), "rules": rules,
            "queues": planner.queues(), "queue_policies": planner.queue_policies(),
            "topics": planner.topics(), "subscriptions": subs, "kms_keys": planner.kms_keys(),
            "schedule_groups": planner.schedule_groups(), "schedules": schedules,
            "roles": roles, "log_groups": planner.log_groups(), "apis": apis,
            "function_urls": urls,
            "other": [{"logical_id": lid, "type": res["Type"]}
                      for lid, res in stack.resources.items()
                      if lid in stack.kept and res["Type"] not in CATEGORISED],
        },
        "alarms": planner.alarms(),
        "outputs": planner.outputs(),
        "stack_tags": stack_tags,
        # Stack tags reach every taggable resource; without them, what carries none itself.
        "untagged": [] if stack_tags else planner.untagged(apis),
        "dropped": sorted(set(stack.resources) - stack.kept),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", required=True)
    parser.add_argument("--samconfig", required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--endpoint", required=True, help="the Endpoint parameter's value")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--account", default="123456789012")
    parser.add_argument("--discord-public-key", help="64 hex: DiscordPublicKey's value")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter's value, over samconfig's")
    args = parser.parse_args(argv)
    try:
        plan = build_plan(args)
    except PlanError as error:
        print(f"plan.py: {error}", file=sys.stderr)
        return 1
    json.dump(plan, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
