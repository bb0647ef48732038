"""The LLM path holds a support conversation even when the model does not: what the graph decides around it
(off-topic and vague messages, cancelling, the ticket's fields from the problem record, a status's priority)
holds whatever the model proposes. The scripted models here make the mistakes the real local model made."""

from __future__ import annotations

from datetime import timedelta

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from tests.agent.conftest import MakeAgent, ScriptedChatModel, tool_call
from tests.agent.fakedesk import NOW, FakeDesk, Ticket


def _proposes(name: str, args: dict[str, object]) -> ScriptedChatModel:
    """A model that answers every message by proposing the same tool call, then says it did."""
    return ScriptedChatModel(script=[tool_call(name, args), AIMessage(content="Done, I've taken care of it.")])


async def test_an_off_topic_question_is_declined_whatever_the_model_proposes(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    model = _proposes("ticket_create", {"subject": "Weather in Paris", "description": "user asks", "priority": "low"})
    agent = await fake_agent(model=model)
    first = await agent.ask("whats the weather in Paris tomorrow?? flying there for a conference", actor="alice")
    assert "outside what I can help with" in first.reply
    assert "Before I do anything" not in first.reply  # declined, not held as a ticket proposal
    again = await agent.ask("yes", first.conversation_id, actor="alice")
    assert fake.tickets == {} and again.actions == []


async def test_a_greeting_is_answered_without_the_model(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    # The 1.5B model searched the knowledge base for "hello" until the tool-call cap.
    model = ScriptedChatModel(script=[tool_call("knowledge_search", {"query": "hello"})])
    agent = await fake_agent(model=model)
    reply = await agent.ask("hello", actor="alice")
    assert "What can I help you with" in reply.reply and model.seen == [] and reply.tool_calls == []


async def test_a_vague_complaint_gets_a_question_not_a_held_escalation(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    fake.tickets["TCK-000001"] = _ticket("Monitor flickers")
    model = _proposes("ticket_escalate", {"ticket": "TCK-000001", "reason": "customer_asked", "summary": "?"})
    agent = await fake_agent(model=model)
    vague = await agent.ask("its not working again!!", actor="alice")
    assert "?" in vague.reply and "hand ticket" not in vague.reply and vague.handoff is None
    named = await agent.ask("outlook", vague.conversation_id, actor="alice")
    assert "Outlook" in named.reply and "?" in named.reply and "hand ticket" not in named.reply
    assert fake.tickets["TCK-000001"].handoff_reason is None


async def test_cancelling_in_the_middle_of_a_ticket_never_creates_one(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    model = ScriptedChatModel(
        script=[
            AIMessage(content="Sure. How much is this affecting your work?"),
            tool_call("ticket_create", {"subject": "Laptop will not charge", "description": "x", "priority": "high"}),
        ]
    )
    agent = await fake_agent(model=model)
    form = await agent.ask("pls open a ticket, my laptop wont charge at all since monday", actor="alice")
    assert "affecting your work" in form.reply
    for cancel in ("actually forget it, cancel the ticket", "no wait, dont open a ticket", "ok forget it, bye!"):
        reply = await agent.ask(cancel, form.conversation_id, actor="alice")
        assert reply.actions == [] and "Before I do anything" not in reply.reply, cancel
    assert fake.tickets == {}
    assert "bye" in reply.reply.lower()


async def test_the_ticket_quotes_the_user_whatever_description_the_model_writes(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    model = _proposes(
        "ticket_create", {"subject": "Sign-in problem", "description": "User has an issue.", "priority": "high"}
    )
    agent = await fake_agent(model=model)
    said = (
        "hi, since this morning nobody in accounts can sign in to the Payroll portal, it says error 0x80070005, "
        "I already restarted twice. pls open a ticket"
    )
    draft = await agent.ask(said, actor="alice")
    assert "0x80070005" in draft.reply and "restarted twice" in draft.reply  # what the ticket will say, first
    reply = await agent.ask("yes, do it", draft.conversation_id, actor="alice")
    assert reply.actions == ["TCK-000001"]
    ticket = fake.tickets["TCK-000001"]
    assert "nobody in accounts can sign in to the Payroll portal" in ticket.description
    assert ticket.error_message is not None and "0x80070005" in ticket.error_message
    assert ticket.steps_taken is not None and "restarted twice" in ticket.steps_taken


async def test_a_status_reply_names_the_priority_even_when_the_model_leaves_it_out(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    fake.tickets["TCK-000001"] = _ticket("Monitor flickers", priority="high")
    model = ScriptedChatModel(
        script=[
            tool_call("ticket_get", {"ticket": "TCK-000001"}),
            AIMessage(content="TCK-000001 is new and nobody has picked it up yet."),
        ]
    )
    agent = await fake_agent(model=model)
    reply = await agent.ask("hey any news on TCK-000001? its been days", actor="alice")
    assert "TCK-000001" in reply.reply and "high priority" in reply.reply


async def test_a_ticket_the_user_cannot_see_is_answered_from_the_refusal(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    # The model asks for the ticket again and again after the desk refused it, until the step cap.
    model = ScriptedChatModel(script=[tool_call("ticket_get", {"ticket": "TCK-000042"})])
    agent = await fake_agent(model=model)
    reply = await agent.ask("what's the status of TCK-000042?", actor="alice")
    assert "can't see TCK-000042" in reply.reply and "steps" not in reply.reply
    assert "Error executing" not in reply.reply and "no ticket" not in reply.reply
    assert len(model.seen) == 1  # the refusal is the answer: no further model step
    assert [name for name, _ in fake.calls] == ["ticket_get"]


async def test_a_question_the_knowledge_base_answers_is_answered_when_the_model_proposes_a_ticket(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    # The 1.5B model searched, then proposed a ticket named after the question instead of answering it.
    model = _proposes("ticket_create", {"subject": "How do I reset my VPN password?", "description": "?"})
    agent = await fake_agent(model=model)
    reply = await agent.ask("How do I reset my VPN password?", actor="alice")
    assert reply.citations and reply.citations[0].title == "Reset your VPN password"
    assert "vpn.example.com/reset" in reply.reply and "ticket “" not in reply.reply
    assert fake.tickets == {} and reply.actions == []


async def test_more_detail_after_an_answer_is_not_taken_as_a_yes_to_the_ticket_offer(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    model = ScriptedChatModel(script=[tool_call("ticket_create", {"subject": "VPN password", "description": "?"})])
    agent = await fake_agent(model=model)
    answer = await agent.ask("How do I reset my VPN password?", actor="alice")
    assert "open a ticket for you" in answer.reply  # the answer offers a ticket if it does not help
    more = await agent.ask("it's the VPN password on my laptop", answer.conversation_id, actor="alice")
    assert more.citations and more.citations[0].title == "Reset your VPN password"
    assert "vpn.example.com/reset" in more.reply and "ticket “" not in more.reply and fake.tickets == {}


async def test_a_ticket_the_user_did_not_ask_for_is_offered_as_a_draft(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    fake.docs.clear()
    model = _proposes(
        "ticket_create",
        {
            "subject": "Laptop does not charge",
            "description": "?",
            "priority": "high",
            "business_impact": "To slow down",
        },
    )
    agent = await fake_agent(model=model)
    offer = await agent.ask("my laptop wont charge anymore since monday, the light stays off", actor="alice")
    assert "slow down" not in offer.reply  # an impact nobody stated (the 0.5B model wrote one)
    # No article answers it: the model's ticket is shown as an offer, in the user's terms, and waits for a yes.
    assert "Laptop does not charge" in offer.reply and "yes" in offer.reply
    assert "search results suggested" not in offer.reply and "didn't ask" not in offer.reply
    assert "high" not in offer.reply  # nobody said how much it matters: the model's priority is a guess
    assert fake.tickets == {}
    taken = await agent.ask("yes, do it", offer.conversation_id, actor="alice")
    assert "affecting your work" in taken.reply and fake.tickets == {}
    seen = len(model.seen)
    contact = await agent.ask("I can't work without it", offer.conversation_id, actor="alice")
    assert "reach you" in contact.reply and fake.tickets == {}
    created = await agent.ask("chat", offer.conversation_id, actor="alice")
    assert created.actions == ["TCK-000001"] and len(model.seen) == seen
    ticket = fake.tickets["TCK-000001"]
    assert "since monday" in ticket.description and ticket.priority == "high"


async def test_a_contact_given_after_the_draft_creates_the_ticket_with_it(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    model = _proposes("ticket_create", {"subject": "Payroll portal sign-in fails", "priority": "high"})
    agent = await fake_agent(model=model)
    draft = await agent.ask(
        "nobody in accounts can sign in to the Payroll portal, error 0x80070005. can you just open a ticket please",
        actor="alice",
    )
    assert "Payroll portal sign-in fails" in draft.reply and "email" in draft.reply and fake.tickets == {}
    # The answer to the draft's one question is the contact: the ticket is created with it, not proposed again.
    reply = await agent.ask("dana.ops@example.org", draft.conversation_id, actor="alice")
    assert reply.actions == ["TCK-000001"] and len(model.seen) == 1
    assert fake.tickets["TCK-000001"].contact_email == "dana.ops@example.org"
    # What was created, in plain words: the number, the subject and how they will be reached.
    assert "TCK-000001" in reply.reply and "Payroll portal sign-in fails" in reply.reply
    assert "dana.ops@example.org" in reply.reply and "as you confirmed" not in reply.reply


async def test_a_ticket_asked_for_before_the_problem_gets_one_question_then_cancelling_drops_it(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    # The 1.5B model called ticket_create again after each "not run" until the step cap, then proposed one.
    model = ScriptedChatModel(script=[tool_call("ticket_create", {"subject": "Open a ticket", "priority": "medium"})])
    agent = await fake_agent(model=model)
    first = await agent.ask("open a ticket please", actor="alice")
    assert "what is the problem" in first.reply and "steps" not in first.reply and len(model.seen) == 1
    draft = await agent.ask("my mouse double clicks", first.conversation_id, actor="alice")
    # The subject is about the problem, not the model's echo of the request; the impact is asked for.
    assert "Subject: My mouse double clicks" in draft.reply and "affecting your work" in draft.reply
    assert fake.tickets == {}
    # "forget it" while the draft waits: dropped by the graph, not handed to the model.
    seen = len(model.seen)
    cancelled = await agent.ask("forget it", first.conversation_id, actor="alice")
    assert cancelled.intent == "cancel" and len(model.seen) == seen
    assert (await agent.ask("yes", first.conversation_id, actor="alice")).actions == [] and fake.tickets == {}


async def test_the_ticket_number_the_user_gave_is_the_one_looked_up(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    fake.tickets["TCK-000016"] = _ticket("Monitor flickers").model_copy(update={"id": 3, "number": "TCK-000016"})
    # The model shortened the number to "16", which the desk reads as an id (another ticket, or none).
    model = ScriptedChatModel(script=[tool_call("ticket_get", {"ticket": "16"}), AIMessage(content="It is new.")])
    agent = await fake_agent(model=model)
    reply = await agent.ask("what's the status of TCK-000016?", actor="alice")
    assert fake.calls[-1] == ("ticket_get", {"ticket": "TCK-000016"})
    assert "TCK-000016 is new, medium priority" in reply.reply


async def test_the_ticket_keeps_only_details_the_user_gave(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    # The 0.5B model filled in a contact, steps from a search result and an "error" nobody mentioned.
    invented = {
        "subject": "Payroll portal sign-in fails",
        "priority": "critical",
        "contact_email": "support@example.com",
        "contact_phone": "123-456-7890",
        "preferred_contact": "admin@example.com",
        "steps_taken": "open https://payroll.example.com/reset and follow the steps",
        "error_message": "Access denied",
    }
    model = ScriptedChatModel(script=[tool_call("ticket_create", invented)])
    agent = await fake_agent(model=model)
    offer = await agent.ask("nobody in accounts can sign in to the Payroll portal since this morning", actor="alice")
    assert "example.com" not in offer.reply and "Access denied" not in offer.reply
    # Asking for a ticket right after the offered draft takes it up; the model is not asked again.
    seen = len(model.seen)
    reply = await agent.ask(
        "That doesn't fix it, can you just open a ticket please", offer.conversation_id, actor="alice"
    )
    assert reply.actions == ["TCK-000001"] and len(model.seen) == seen
    ticket = fake.tickets["TCK-000001"]
    assert (
        ticket.contact_email is None
        and ticket.contact_phone is None
        and ticket.preferred_contact != "admin@example.com"
    )
    assert ticket.error_message is None and "payroll.example.com" not in (ticket.steps_taken or "")


async def test_a_look_up_the_model_repeats_ends_with_the_ticket_s_facts(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    fake.tickets["TCK-000001"] = _ticket("Monitor flickers", priority="high")
    # The 0.5B model read the same ticket again after each result, until the step cap.
    model = ScriptedChatModel(script=[tool_call("ticket_get", {"ticket": "TCK-000001"})])
    agent = await fake_agent(model=model)
    reply = await agent.ask("what is the status of TCK-000001?", actor="alice")
    assert "TCK-000001 is new, high priority" in reply.reply and "steps" not in reply.reply
    assert [name for name, _ in fake.calls] == ["ticket_get"] and len(model.seen) == 2


async def test_an_empty_model_answer_falls_back_to_the_policy_s_answer(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    # The 0.5B model sometimes answers with nothing usable (no text, or a tool call that is not JSON).
    model = ScriptedChatModel(script=[AIMessage(content="")])
    agent = await fake_agent(model=model)
    reply = await agent.ask("How do I reset my VPN password?", actor="alice")
    assert reply.citations and reply.citations[0].title == "Reset your VPN password"
    assert "vpn.example.com/reset" in reply.reply


async def test_a_contact_given_after_the_ticket_is_created_is_added_to_it(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    model = ScriptedChatModel(script=[tool_call("ticket_create", {"subject": "Payroll portal sign-in fails"})])
    agent = await fake_agent(model=model)
    said = "nobody in accounts can sign in to the Payroll portal, error 0x80070005. can you just open a ticket please"
    draft = await agent.ask(said, actor="alice")
    created = await agent.ask("yes, do it", draft.conversation_id, actor="alice")
    assert created.actions == ["TCK-000001"]
    # The 0.5B model offered the same ticket again (and said it was done) when the user then sent an address.
    seen = len(model.seen)
    reply = await agent.ask("dana.ops@example.org", draft.conversation_id, actor="alice")
    assert len(fake.tickets) == 1 and len(model.seen) == seen
    assert "dana.ops@example.org" in fake.comments["TCK-000001"][0]["body"]
    assert "TCK-000001" in reply.reply and "dana.ops@example.org" in reply.reply


async def test_a_ticket_held_for_a_priority_nobody_gave_is_not_taken_up_by_asking_for_a_ticket(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    # A model that obeys a document asking for a critical ticket; the user then asks for a ticket of their own.
    model = ScriptedChatModel(
        script=[tool_call("ticket_create", {"subject": "Printers down everywhere", "priority": "critical"})]
    )
    agent = await fake_agent(model=model)
    held = await agent.ask("the printer on floor 3 prints blank pages since monday", actor="alice")
    assert "critical" in held.reply and "Here is the ticket" not in held.reply
    for reply in ("can you just open a ticket please", "dana.ops@example.org"):
        assert (await agent.ask(reply, held.conversation_id, actor="alice")).actions == [], reply
    assert fake.tickets == {}


async def test_an_answer_that_ignores_the_retrieved_article_is_replaced_by_the_article_s(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    # The 0.5B model answered a question the knowledge base answers with generic steps, or said it found nothing.
    for generic in (
        "1. Go to Settings.\n2. Click Network.\n3. Choose Change password and save.",
        "Sorry, I couldn't put together an answer to that. Could you rephrase it?",
    ):
        agent = await fake_agent(model=ScriptedChatModel(script=[AIMessage(content=generic)]))
        reply = await agent.ask("How do I reset my VPN password?", actor="alice")
        assert reply.citations and reply.citations[0].title == "Reset your VPN password", generic
        assert "vpn.example.com/reset" in reply.reply and "Click Network" not in reply.reply, generic


async def test_an_answer_drawn_from_the_retrieved_article_is_kept(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    answer = "Open https://vpn.example.com/reset and follow the steps there; keep your MFA device at hand [1]."
    agent = await fake_agent(model=ScriptedChatModel(script=[AIMessage(content=answer)]))
    reply = await agent.ask("How do I reset my VPN password?", actor="alice")
    assert reply.reply.startswith(answer) and reply.citations[0].title == "Reset your VPN password"
    # The source is named, as in the policy's answers.
    assert reply.reply.endswith("Sources:\n[1] KB #1: Reset your VPN password")


async def test_an_answer_from_the_model_s_own_knowledge_is_not_given(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    # With nothing in the knowledge base, the 0.5B model gave Slack's menus from memory and "1" for a spider's legs.
    slack = "To delete your Slack account:\n1. Open Slack.\n2. Click the gear icon.\n3. Choose Delete account."
    agent = await fake_agent(model=ScriptedChatModel(script=[AIMessage(content=slack)]))
    reply = await agent.ask("how do I delete my account in Slack?", actor="alice")
    assert "gear icon" not in reply.reply and "Slack" in reply.reply and not reply.citations
    agent = await fake_agent(model=ScriptedChatModel(script=[AIMessage(content="1")]))
    reply = await agent.ask("how many legs does a spider have?", actor="alice")
    assert "outside what I can help with" in reply.reply


async def test_the_ticket_has_no_contact_the_user_did_not_give(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    model = _proposes("ticket_create", {"subject": "Outlook crashes on attachments", "contact_email": "me"})
    agent = await fake_agent(model=model)
    draft = await agent.ask(
        "outlook keeps crashing when i open attachments, open a ticket, I can't work", actor="alice"
    )
    assert "Contact: me" not in draft.reply and "- Contact" not in draft.reply


async def test_a_procedure_the_model_cuts_short_is_answered_whole(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    steps = [
        f"{n}. {s}"
        for n, s in enumerate(
            [
                "Shut the laptop down",
                "Connect the dock's power supply",
                "Plug the monitors into the dock",
                "Connect the dock with the Thunderbolt cable",
                "Start the laptop and sign in",
            ],
            1,
        )
    ]
    fake.docs.append(
        {
            "id": 3,
            "title": "Set up the docking station",
            "text": "To set up the docking station the first time:\n" + "\n".join(steps),
            "citation": "KB #3: Set up the docking station",
        }
    )
    # The 0.5B model copied the procedure from a chunk its context had cut after a few steps.
    cut = "To set up the docking station:\n\n" + "\n".join(steps[:3]) + " …"
    agent = await fake_agent(model=ScriptedChatModel(script=[AIMessage(content=cut)]))
    reply = await agent.ask("how do I set up the docking station the first time?", actor="alice")
    assert "5. Start the laptop and sign in" in reply.reply and "Set up the docking station" in reply.reply


async def test_a_model_priority_waits_for_the_impact_the_user_gives(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    fake.docs.clear()
    model = _proposes("ticket_create", {"subject": "Mouse double-clicks", "priority": "high"})
    agent = await fake_agent(model=model)
    draft = await agent.ask("can you open a ticket, my mouse double clicks since monday", actor="alice")
    assert "affecting your work" in draft.reply and "high" not in draft.reply and fake.tickets == {}
    # A reply that says nothing about the impact is asked again, then the default, as in the offline form.
    again = await agent.ask("yes", draft.conversation_id, actor="alice")
    assert "didn't catch how urgent" in again.reply and fake.tickets == {}
    shown = await agent.ask("just open it", draft.conversation_id, actor="alice")
    assert "medium" in shown.reply and "reach you" in shown.reply and fake.tickets == {}
    created = await agent.ask("chat is fine", draft.conversation_id, actor="alice")
    assert created.actions == ["TCK-000001"] and fake.tickets["TCK-000001"].priority == "medium"
    assert len(model.seen) == 1


async def test_a_contact_method_given_after_the_draft_creates_the_ticket(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    model = _proposes("ticket_create", {"subject": "Outlook keeps asking for the password", "priority": "high"})
    agent = await fake_agent(model=model)
    draft = await agent.ask(
        "outlook asks for my password every 5 minutes, removed the credentials already. I can't work like this. "
        "open a ticket",
        actor="alice",
    )
    assert "Outlook keeps asking for the password" in draft.reply and fake.tickets == {}
    # "email is fine" answers the draft's question how to reach them, as an address would.
    reply = await agent.ask("email is fine", draft.conversation_id, actor="alice")
    assert reply.actions == ["TCK-000001"] and len(model.seen) == 1
    assert fake.tickets["TCK-000001"].preferred_contact == "email"


class EchoingChatModel(ScriptedChatModel):
    """Follows its script, then answers every later message with the last assistant reply it was shown."""

    def _next(self, messages: list[BaseMessage]) -> ChatResult:
        if len(self.seen) < len(self.script):
            return super()._next(messages)
        self.seen.append(list(messages))
        last = next(m for m in reversed(messages) if isinstance(m, AIMessage) and m.content)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=str(last.content)))])


async def test_a_model_that_repeats_its_last_reply_is_not_echoed_back(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    # The 0.5B model answered each message after a ticket was created with the creation message again.
    model = EchoingChatModel(script=[tool_call("ticket_create", {"subject": "CRM export times out"})])
    agent = await fake_agent(model=model)
    draft = await agent.ask(
        "The CRM export to excel keeps timing out with Error 504, it stops me from working. log a ticket",
        actor="alice",
    )
    created = await agent.ask("yes, do it", draft.conversation_id, actor="alice")
    assert created.actions == ["TCK-000001"]
    more = await agent.ask("it's also slow in the morning, before 9", draft.conversation_id, actor="alice")
    assert more.reply != created.reply and "I've created" not in more.reply
    # What the user added about their ticket is offered as a comment on it, and added on a yes.
    assert "TCK-000001" in more.reply and fake.comments.get("TCK-000001") is None
    added = await agent.ask("yes", draft.conversation_id, actor="alice")
    assert "slow in the morning" in fake.comments["TCK-000001"][0]["body"] and added.actions == ["TCK-000001"]
    # How to be reached, said after the ticket exists, is acknowledged without the model (it declined it).
    seen = len(model.seen)
    noted = await agent.ask("chat is fine", draft.conversation_id, actor="alice")
    assert "TCK-000001" in noted.reply and "chat" in noted.reply and len(model.seen) == seen
    assert len(fake.tickets) == 1


async def test_a_status_the_model_answers_without_reading_the_ticket_is_looked_up(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    fake.tickets["TCK-000002"] = _ticket("The keyboard types wrong characters").model_copy(
        update={"id": 2, "number": "TCK-000002", "priority": "high"}
    )
    # The 0.5B model answered "wrong ticket, I meant TCK-000019" with made-up facts and read nothing.
    model = ScriptedChatModel(script=[AIMessage(content="TCK-000002 is new, medium priority.")])
    agent = await fake_agent(model=model)
    reply = await agent.ask("wrong ticket, I meant TCK-000002", actor="alice")
    assert "keyboard" in reply.reply and "high priority" in reply.reply
    assert ("ticket_get", {"ticket": "TCK-000002"}) in fake.calls


async def test_a_ticket_proposed_for_a_status_question_is_not_offered(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    fake.tickets["TCK-000001"] = _ticket("Monitor flickers")
    # The 0.5B model offered a new ticket "any news on TCK-000047?" instead of looking the ticket up.
    model = _proposes("ticket_create", {"subject": "any news on TCK-000001?"})
    agent = await fake_agent(model=model)
    reply = await agent.ask("hey any news on TCK-000001? it's been days", actor="alice")
    assert "Monitor flickers" in reply.reply and "medium priority" in reply.reply
    assert "ticket I'll open" not in reply.reply and "open a ticket for" not in reply.reply and len(fake.tickets) == 1


async def test_a_comment_dictated_with_its_ticket_is_added_by_the_graph(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    fake.tickets["TCK-000001"] = _ticket("Monitor flickers")
    # The 0.5B model called ticket_comment with arguments the desk refused, three times, until the step cap.
    model = ScriptedChatModel(script=[tool_call("ticket_comment", {"ticket": "TCK-000001", "comment": "x"})])
    agent = await fake_agent(model=model)
    reply = await agent.ask("add a comment to TCK-000001: the replacement cable did not help", actor="alice")
    assert fake.comments["TCK-000001"][0]["body"] == "the replacement cable did not help"
    assert reply.actions == ["TCK-000001"] and model.seen == []


def _ticket(subject: str, priority: str = "medium") -> Ticket:
    return Ticket(
        id=1,
        number="TCK-000001",
        subject=subject,
        description=subject,
        priority=priority,
        requester="alice",
        sla_due_at=NOW + timedelta(hours=8),
    )


async def test_a_ticket_request_the_model_answers_with_nothing_gets_the_graphs_draft(
    fake_agent: MakeAgent, fake: FakeDesk
) -> None:
    # The 0.5B model searched the knowledge base for "please open a ticket: ..." and then said nothing.
    script = [tool_call("knowledge_search", {"query": "payroll portal"}), AIMessage(content="")]
    model = ScriptedChatModel(script=script)
    agent = await fake_agent(model=model)
    draft = await agent.ask(
        "Please open a ticket: the Payroll portal shows error 0x80070005 for the whole accounts team since this "
        "morning, nobody can submit the salary run.",
        actor="alice",
    )
    assert "couldn't put together" not in draft.reply and "Payroll portal" in draft.reply and fake.tickets == {}
    seen = len(model.seen)
    created = await agent.ask("yes, create it", draft.conversation_id, actor="alice")
    assert created.actions == ["TCK-000001"] and len(model.seen) == seen  # the graph's form, no model call
    ticket = fake.tickets["TCK-000001"]
    assert ticket.priority == "critical" and ticket.error_message and "0x80070005" in ticket.error_message
