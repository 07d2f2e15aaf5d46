"""The job templates and the workflow AWX imports (awx/m365ops-activation.json, `awx import`): in awxkit's export format,
checked against awxkit's own definitions (the resources it imports, each page's natural key, the fields its payloads
take), and pointing at what the repository has (playbooks, variables the roles read, survey answers the roles accept)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from awxkit.api.pages.api import DEPENDENT_EXPORT, EXPORTABLE_RESOURCES
from awxkit.api.pages.job_templates import JobTemplate
from awxkit.api.pages.workflow_job_template_nodes import WorkflowJobTemplateNode
from awxkit.api.pages.workflow_job_templates import WorkflowJobTemplate

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = json.loads((ROOT / "awx" / "m365ops-activation.json").read_text(encoding="utf-8"))
FLEET_SPEC = yaml.safe_load((ROOT / "roles" / "fleet" / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
FLEET_OPTIONS = FLEET_SPEC["argument_specs"]["fleet"]["options"]
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
# What awxkit's payloads take besides their optional fields (job_templates.py, workflow_job_templates.py).
JOB_TEMPLATE_FIELDS = {"name", "description", "job_type", "playbook", "project", "inventory", "extra_vars", "execution_environment"}
WORKFLOW_FIELDS = {"name", "description", "extra_vars", "organization", "inventory", "webhook_credential"}
# A node's workflow and job template, and the approval template AWX creates from the node's related entry.
NODE_FIELDS = {"unified_job_template", "workflow_job_template", "inventory"}


def optional_fields(page: type) -> set[str]:
    """The optional fields a page's payload() takes: the tuple of field names in awxkit's own code of it."""
    constants = [const for const in page.payload.__code__.co_consts if isinstance(const, tuple) and all(isinstance(item, str) for item in const)]
    assert constants, f"awxkit's {page.__name__}.payload lists no optional fields any more"
    return {name for const in constants for name in const}


def test_the_document_holds_only_resources_awx_import_takes() -> None:
    assert set(DOCUMENT) <= set(EXPORTABLE_RESOURCES) and set(DOCUMENT) == {"job_templates", "workflow_job_templates"}
    # Related objects exported whole, as awx export writes them.
    assert ("JobTemplate", "SurveySpec") in DEPENDENT_EXPORT and ("WorkflowJobTemplate", "WorkflowJobTemplateNode") in DEPENDENT_EXPORT


def test_every_natural_key_has_the_fields_awxkit_resolves_it_by() -> None:
    for template in DOCUMENT["job_templates"]:
        assert set(template["natural_key"]) == set(JobTemplate.NATURAL_KEY) | {"type"} and template["natural_key"]["type"] == "job_template"
        assert template["natural_key"]["name"] == template["name"]
    for workflow in DOCUMENT["workflow_job_templates"]:
        assert set(workflow["natural_key"]) == set(WorkflowJobTemplate.NATURAL_KEY) | {"type"}
        for node in workflow["related"]["workflow_nodes"]:
            assert set(node["natural_key"]) == set(WorkflowJobTemplateNode.NATURAL_KEY) | {"type"}
            assert node["natural_key"]["workflow_job_template"] == workflow["natural_key"] and node["natural_key"]["identifier"] == node["identifier"]


def test_every_field_is_one_awxkits_payloads_take() -> None:
    allowed = JOB_TEMPLATE_FIELDS | optional_fields(JobTemplate)
    for template in DOCUMENT["job_templates"]:
        assert set(template) - {"natural_key", "related"} <= allowed, sorted(set(template) - allowed - {"natural_key", "related"})
        json.loads(template["extra_vars"])
    for workflow in DOCUMENT["workflow_job_templates"]:
        fields = WORKFLOW_FIELDS | optional_fields(WorkflowJobTemplate)
        assert set(workflow) - {"natural_key", "related"} <= fields, sorted(set(workflow) - fields - {"natural_key", "related"})
        node_fields = optional_fields(WorkflowJobTemplateNode) | NODE_FIELDS
        for node in workflow["related"]["workflow_nodes"]:
            assert set(node) - {"natural_key", "related"} <= node_fields, sorted(set(node) - node_fields - {"natural_key", "related"})


def test_the_templates_run_the_repositorys_playbooks_with_surveys_the_roles_accept() -> None:
    kinds = {template["name"]: template for template in DOCUMENT["job_templates"]}
    playbooks = {"playbooks/audit.yml", "playbooks/diagnose.yml", "playbooks/remediate.yml", "playbooks/restore.yml"}
    assert {template["playbook"] for template in kinds.values()} == playbooks
    assert kinds["m365ops.activation audit"]["job_type"] == "check"
    for template in kinds.values():
        assert (ROOT / template["playbook"]).is_file()
        for question in template["related"]["survey_spec"]["spec"]:
            assert question["type"] in SURVEY_TYPES and question["variable"] in FLEET_OPTIONS, question["variable"]
            option = FLEET_OPTIONS[question["variable"]]
            if question["type"] in ("multiplechoice", "multiselect"):
                defaults = question["default"].split("\n") if question["type"] == "multiselect" else [question["default"]]
                assert set(defaults) <= set(question["choices"]) and (not option.get("choices") or set(question["choices"]) <= set(option["choices"]))
        # Every variable a template sets is one the collection reads.
        for name in json.loads(template["extra_vars"]):
            assert name in FLEET_OPTIONS or name in ("m365ops_target",), name


def test_the_nightly_workflow_audits_asks_remediates_the_unsettled_hosts_and_audits_again() -> None:
    workflow, = DOCUMENT["workflow_job_templates"]
    nodes = {node["identifier"]: node for node in workflow["related"]["workflow_nodes"]}
    edges = {(name, kind, child["identifier"]) for name, node in nodes.items() for kind in ("success_nodes", "failure_nodes", "always_nodes")
             for child in node["related"][kind]}
    assert edges == {("audit", "always_nodes", "approve"), ("approve", "success_nodes", "remediate"), ("remediate", "always_nodes", "audit-again")}
    assert nodes["approve"]["unified_job_template"] is None and nodes["approve"]["related"]["workflow_approval_template"]["timeout"] > 0
    assert nodes["remediate"]["extra_data"] == {"m365ops_allow_no_targets": True}
    remediate = next(template for template in DOCUMENT["job_templates"] if template["name"] == "m365ops.activation remediate")
    assert "m365ops_unsettled_hosts" in json.loads(remediate["extra_vars"])["m365ops_target"]
    schedule, = workflow["related"]["schedules"]
    assert schedule["rrule"].startswith("DTSTART;TZID=UTC:") and "FREQ=DAILY" in schedule["rrule"] and schedule["enabled"] is True
