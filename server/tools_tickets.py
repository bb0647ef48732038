"""MCP tools and the ``ticket://{number}`` resource for tickets: thin wrappers over :mod:`tools.tickets` and friends.

Annotations follow the MCP definitions: ``ticket_update`` and ``ticket_set_root_cause`` overwrite stored values
(the old ones survive only in the audit log), so they are marked destructive; everything else only adds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from server.context import CurrentActor, CurrentDesk, desk_and_actor, resource_errors
from server.surface import Registrar
from tools import suggest, ticket_activity, ticket_models, ticket_query, tickets
from tools.sla import Priority, Status
from tools.ticket_models import Channel, ContactMethod, HandoffReason, TicketRef

TicketArg = Annotated[TicketRef, Field(description="Ticket number (TCK-000042) or numeric id.")]
SubjectArg = Annotated[str, Field(description="One-line summary of the problem.", min_length=1, max_length=200)]
PhoneArg = Annotated[str | None, Field(description="Phone number to reach the requester.", max_length=40)]
EmailArg = Annotated[str | None, Field(description="E-mail address to reach the requester.", max_length=254)]
SystemArg = Annotated[str | None, Field(description="Affected system, application or device.", max_length=200)]
ImpactArg = Annotated[str | None, Field(description="What the problem stops people from doing.")]
StepsArg = Annotated[str | None, Field(description="What the requester already tried.")]
ErrorArg = Annotated[str | None, Field(description="Exact error message or code shown.")]
TagsArg = Annotated[list[str] | None, Field(description="Short labels; lower-cased and de-duplicated.")]
ContactArg = Annotated[ContactMethod | None, Field(description="email, phone or chat.")]


def _given(**values: Any) -> dict[str, Any]:
    """The arguments the caller actually passed (None means "leave as is")."""
    return {key: value for key, value in values.items() if value is not None}


def register(reg: Registrar) -> None:
    mcp = reg.mcp

    @reg.tool(toolset="tickets", capability="tickets.write", kind="write", title="Create a ticket")
    async def ticket_create(
        subject: SubjectArg,
        description: Annotated[str, Field(description="What happened, in the requester's words.", min_length=1)],
        desk: CurrentDesk,
        actor: CurrentActor,
        priority: Annotated[Priority, Field(description="low, medium, high or critical.")] = "medium",
        category: Annotated[str | None, Field(description="Category name or id (see category_list).")] = None,
        requester: Annotated[str | None, Field(description="Username; default: you. Staff only.")] = None,
        assignee: Annotated[str | None, Field(description="Staff username to assign (staff only).")] = None,
        contact_phone: PhoneArg = None,
        contact_email: EmailArg = None,
        preferred_contact: ContactArg = None,
        affected_system: SystemArg = None,
        business_impact: ImpactArg = None,
        steps_taken: StepsArg = None,
        error_message: ErrorArg = None,
        tags: TagsArg = None,
        channel: Annotated[Channel, Field(description="Where the request came from.")] = "mcp",
    ) -> ticket_models.TicketPublic:
        """Create a support ticket; the SLA due time follows from the priority."""
        data = ticket_models.TicketCreate(
            subject=subject,
            description=description,
            priority=priority,
            channel=channel,
            **_given(
                category=category,
                requester=requester,
                assignee=assignee,
                contact_phone=contact_phone,
                contact_email=contact_email,
                preferred_contact=preferred_contact,
                affected_system=affected_system,
                business_impact=business_impact,
                steps_taken=steps_taken,
                error_message=error_message,
                tags=tags,
            ),
        )
        return await tickets.ticket_create(desk, actor, data)

    @reg.tool(toolset="tickets", capability="tickets.read", kind="read", title="Get a ticket")
    async def ticket_get(ticket: TicketArg, desk: CurrentDesk, actor: CurrentActor) -> ticket_models.TicketDetail:
        """Get a ticket with its comments, resolution steps, root cause and linked KB articles."""
        return await tickets.ticket_get(desk, actor, ticket)

    @reg.tool(toolset="tickets", capability="tickets.read", kind="read", title="List tickets")
    async def ticket_list(
        desk: CurrentDesk,
        actor: CurrentActor,
        status: Annotated[Status | list[Status] | None, Field(description="One status or a list of them.")] = None,
        priority: Annotated[Priority | list[Priority] | None, Field(description="One priority or a list.")] = None,
        assignee: Annotated[str | None, Field(description="Username, 'me' or 'unassigned'.")] = None,
        requester: Annotated[str | None, Field(description="Username or 'me'.")] = None,
        category: Annotated[str | None, Field(description="Category name or id.")] = None,
        breached: Annotated[bool | None, Field(description="True: SLA missed; False: within SLA.")] = None,
        escalated: Annotated[bool | None, Field(description="True: handed off to a human.")] = None,
        text: Annotated[str | None, Field(description="Words to search in number, subject, description.")] = None,
        tag: Annotated[str | None, Field(description="Only tickets with this tag.")] = None,
        sort: Annotated[
            ticket_query.SortField | None,
            Field(description="created_at (default), updated_at, priority, sla_due_at, or relevance with text."),
        ] = None,
        order: Annotated[Literal["asc", "desc"] | None, Field(description="Default: desc (sla_due_at: asc).")] = None,
        limit: Annotated[int, Field(description="Page size, 1-100.", ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous page.")] = None,
    ) -> ticket_models.TicketPage:
        """List tickets matching filters, sorted and a page at a time, with the total."""
        return await ticket_query.ticket_list(
            desk,
            actor,
            status=status,
            priority=priority,
            assignee=assignee,
            requester=requester,
            category=category,
            breached=breached,
            escalated=escalated,
            text=text,
            tag=tag,
            sort=sort,
            order=order,
            limit=limit,
            cursor=cursor,
        )

    @reg.tool(toolset="tickets", capability="tickets.write", kind="write", title="Update a ticket", destructive=True)
    async def ticket_update(
        ticket: TicketArg,
        version: Annotated[int, Field(description="The ticket's version as you last read it.", ge=1)],
        desk: CurrentDesk,
        actor: CurrentActor,
        subject: Annotated[str | None, Field(description="New summary.", min_length=1, max_length=200)] = None,
        description: Annotated[str | None, Field(description="New description.", min_length=1)] = None,
        status: Annotated[Status | None, Field(description="New status (staff).")] = None,
        priority: Annotated[Priority | None, Field(description="New priority (staff); moves the SLA.")] = None,
        assignee: Annotated[str | None, Field(description="Staff username, or 'unassigned' (staff).")] = None,
        category: Annotated[str | None, Field(description="Category name or id, or 'none' (staff).")] = None,
        contact_phone: PhoneArg = None,
        contact_email: EmailArg = None,
        preferred_contact: ContactArg = None,
        affected_system: SystemArg = None,
        business_impact: ImpactArg = None,
        steps_taken: StepsArg = None,
        error_message: ErrorArg = None,
        tags: Annotated[list[str] | None, Field(description="Replacement tag list (staff).")] = None,
    ) -> ticket_models.TicketPublic:
        """Change a ticket's fields; pass the version you read, and on a conflict read it again and reapply."""
        data = ticket_models.TicketUpdate(
            version=version,
            **_given(
                subject=subject,
                description=description,
                status=status,
                priority=priority,
                assignee=assignee,
                category=category,
                contact_phone=contact_phone,
                contact_email=contact_email,
                preferred_contact=preferred_contact,
                affected_system=affected_system,
                business_impact=business_impact,
                steps_taken=steps_taken,
                error_message=error_message,
                tags=tags,
            ),
        )
        return await tickets.ticket_update(desk, actor, ticket, data)

    @reg.tool(toolset="tickets", capability="tickets.write", kind="write", title="Comment on a ticket")
    async def ticket_comment(
        ticket: TicketArg,
        body: Annotated[str, Field(description="The reply or note text.", min_length=1, max_length=20000)],
        desk: CurrentDesk,
        actor: CurrentActor,
        internal: Annotated[bool, Field(description="True for an internal note hidden from the requester.")] = False,
    ) -> ticket_activity.CommentResult:
        """Add a public reply or an internal note to a ticket."""
        return await ticket_activity.ticket_comment(desk, actor, ticket, body=body, internal=internal)

    @reg.tool(toolset="tickets", capability="tickets.work", kind="write", title="Record a resolution step")
    async def ticket_add_resolution_step(
        ticket: TicketArg,
        instructions: Annotated[str, Field(description="What was done, as steps someone could repeat.", min_length=1)],
        desk: CurrentDesk,
        actor: CurrentActor,
        success: Annotated[bool | None, Field(description="True if it worked, False if not, omit if untried.")] = None,
        position: Annotated[int | None, Field(description="Step number; default: after the last.", ge=1)] = None,
        performed_by: Annotated[str | None, Field(description="Username who did it; default: you.")] = None,
    ) -> ticket_models.ResolutionStepPublic:
        """Record a resolution step on a ticket (staff only)."""
        return await ticket_activity.ticket_add_resolution_step(
            desk,
            actor,
            ticket,
            instructions=instructions,
            success=success,
            position=position,
            performed_by=performed_by,
        )

    @reg.tool(
        toolset="tickets",
        capability="tickets.work",
        kind="write",
        title="Set the root cause",
        destructive=True,
        idempotent=True,
    )
    async def ticket_set_root_cause(
        ticket: TicketArg,
        cause_code: Annotated[str, Field(description="Code like SW-001: 2-5 capital letters, dash, 3 digits.")],
        description: Annotated[str, Field(description="What caused the problem.", min_length=1)],
        desk: CurrentDesk,
        actor: CurrentActor,
    ) -> ticket_models.RootCausePublic:
        """Set a ticket's root cause, replacing any earlier one (staff only)."""
        return await ticket_activity.ticket_set_root_cause(
            desk, actor, ticket, cause_code=cause_code, description=description
        )

    @reg.tool(
        toolset="tickets",
        capability="tickets.work",
        kind="write",
        title="Link a KB article to a ticket",
        idempotent=True,
    )
    async def ticket_link_kb(
        ticket: TicketArg,
        article_id: Annotated[int, Field(description="KB article id (see kb_article_search).")],
        desk: CurrentDesk,
        actor: CurrentActor,
        note: Annotated[str | None, Field(description="Why it is relevant.", max_length=500)] = None,
    ) -> ticket_activity.KBLinkResult:
        """Link a KB article to a ticket; linking it again changes nothing (staff only)."""
        return await ticket_activity.ticket_link_kb(desk, actor, ticket, article_id=article_id, note=note)

    @reg.tool(toolset="tickets", capability="tickets.read", kind="read", title="Suggest similar tickets and articles")
    async def ticket_suggest(
        subject: Annotated[str, Field(description="The problem in one line.", min_length=1, max_length=200)],
        desk: CurrentDesk,
        actor: CurrentActor,
        description: Annotated[str, Field(description="More detail about the problem.")] = "",
        k: Annotated[int, Field(description="How many of each kind to return, 1-20.", ge=1, le=20)] = 5,
        exclude: Annotated[TicketRef | None, Field(description="A ticket to leave out (usually this one).")] = None,
    ) -> suggest.Suggestions:
        """Find similar tickets (resolved ones first) and KB articles for a problem."""
        return await suggest.ticket_suggest(desk, actor, subject=subject, description=description, k=k, exclude=exclude)

    @reg.tool(toolset="tickets", capability="tickets.write", kind="write", title="Escalate to a technician")
    async def ticket_escalate(
        ticket: TicketArg,
        reason: Annotated[HandoffReason, Field(description="Why a human is needed.")],
        summary: Annotated[str, Field(description="What the requester needs and what was tried.", min_length=1)],
        desk: CurrentDesk,
        actor: CurrentActor,
    ) -> ticket_models.TicketPublic:
        """Hand a ticket over to a human technician with the reason and a summary."""
        return await tickets.ticket_escalate(desk, actor, ticket, reason, summary)

    @mcp.resource("ticket://{number}", mime_type="application/json", title="Ticket")
    @resource_errors
    async def ticket_resource(number: str, ctx: Context) -> str:
        """A ticket with its comments, resolution steps, root cause and linked KB articles, as JSON."""
        desk, actor = await desk_and_actor(ctx)
        return (await tickets.ticket_get(desk, actor, number)).model_dump_json(indent=2)
