"""The Gradio front end: Chat, Voice and Admin tabs. Gradio only; no business rules."""
