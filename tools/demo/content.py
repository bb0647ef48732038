"""The demo IT-support desk: people, categories, knowledge-base articles and tickets in every state."""

from __future__ import annotations

from typing import Any

DEMO_PASSWORD = "support-demo"
"""Every demo user except ``admin`` signs in with this (documented in the README); the admin's password is
``SUPPORT_ADMIN_PASSWORD`` or generated and printed once. Set only where a user has no password yet."""

USERS: list[dict[str, str]] = [
    {"username": "admin", "email": "admin@example.com", "display_name": "Desk Admin", "role": "admin"},
    {"username": "maria.manager", "email": "maria@example.com", "display_name": "Maria Lopez", "role": "manager"},
    {"username": "tom.tech", "email": "tom@example.com", "display_name": "Tom Becker", "role": "technician"},
    {"username": "priya.tech", "email": "priya@example.com", "display_name": "Priya Nair", "role": "technician"},
    {"username": "alice", "email": "alice@example.com", "display_name": "Alice Martin", "role": "end_user"},
    {"username": "bob", "email": "bob@example.com", "display_name": "Bob Okafor", "role": "end_user"},
    {"username": "chen", "email": "chen@example.com", "display_name": "Chen Wei", "role": "end_user"},
    {"username": "dora", "email": "dora@example.com", "display_name": "Dora Schmidt", "role": "end_user"},
]

TEAMS: list[tuple[str, tuple[str, ...]]] = [
    ("Service Desk", ("tom.tech", "priya.tech")),
    ("Workplace & Devices", ("priya.tech", "maria.manager")),
]
"""Teams and their members: tom.tech's "My team" numbers are his and priya.tech's tickets."""

CATEGORIES: list[tuple[str, str]] = [
    ("Access & Accounts", "Passwords, MFA, locked accounts, permissions"),
    ("Email", "Outlook, mailboxes, calendars, distribution lists"),
    ("Hardware", "Laptops, docks, monitors, peripherals"),
    ("Network", "VPN, Wi-Fi, office network, DNS"),
    ("Printing", "Printers, scanners, print queues"),
    ("Software", "Installations, licences, application errors"),
]

KB_ARTICLES: list[dict[str, Any]] = [
    {
        "title": "Reset your password with self-service",
        "tags": ["password", "account", "self-service"],
        "body": (
            "If you forgot your password or it expired, reset it yourself at https://password.example.com.\n\n"
            "1. Open https://password.example.com and enter your work e-mail address.\n"
            "2. Approve the MFA prompt on your phone, or enter the six-digit code from the authenticator app.\n"
            "3. Choose a new password of at least 14 characters; it cannot be one of your last 10 passwords.\n"
            "4. Sign out of Windows and sign in again with the new password so cached credentials update.\n\n"
            "After five wrong attempts your account locks for 15 minutes. If it stays locked, ask the desk "
            "to unlock it."
        ),
    },
    {
        "title": "Connect to the VPN with GlobalProtect",
        "tags": ["vpn", "network", "remote"],
        "body": (
            "Use GlobalProtect to reach internal systems from home.\n\n"
            "1. Open GlobalProtect from the system tray and enter the portal vpn.example.com.\n"
            "2. Sign in with your work account and approve the MFA prompt.\n"
            "3. Wait until the icon shows Connected.\n\n"
            "Error 'Gateway not responding': switch networks (for example to a phone hotspot) and try again; "
            "hotel and guest Wi-Fi often block the VPN ports. Error 'Authentication failed': your password may "
            "have expired; reset it first. If the client is missing, install it from Software Center."
        ),
    },
    {
        "title": "Outlook keeps asking for the password",
        "tags": ["outlook", "email", "password"],
        "body": (
            "Outlook prompts repeatedly when cached credentials are stale, usually right after a password "
            "change.\n\n1. Close Outlook.\n2. Open Credential Manager > Windows Credentials and remove entries "
            "that start with MicrosoftOffice16.\n3. Start Outlook and sign in once with the new password.\n\n"
            "If prompts continue, make sure the clock on your laptop is correct and that you are on the VPN "
            "when outside the office."
        ),
    },
    {
        "title": "Windows Update fails with error 0x80070005",
        "tags": ["windows", "update", "error-code"],
        "body": (
            "Error 0x80070005 means 'access denied' during Windows Update, typically because the update "
            "service lacks permission to a folder or an antivirus scan holds a file.\n\n"
            "1. Restart the laptop and run Windows Update again.\n"
            "2. Run the Windows Update troubleshooter from Settings > System > Troubleshoot.\n"
            "3. If it still fails, open a ticket with the full error text; a technician will reset the "
            "SoftwareDistribution folder remotely."
        ),
    },
    {
        "title": "Printer shows offline",
        "tags": ["printer", "printing"],
        "body": (
            "When a printer shows Offline:\n\n1. Check that the printer is on and shows no paper jam.\n"
            "2. On your laptop remove the printer in Settings > Bluetooth & devices > Printers and add it again "
            "from \\\\print.example.com.\n3. Clear stuck jobs: open the queue and cancel all documents.\n\n"
            "Floor printers are named after their location, for example PRN-3F-EAST."
        ),
    },
    {
        "title": "Set up multi-factor authentication (MFA) on a new phone",
        "tags": ["mfa", "account", "phone"],
        "body": (
            "Moving to a new phone? Register it before you wipe the old one.\n\n"
            "1. On a computer go to https://mysignins.example.com > Security info.\n"
            "2. Add method > Authenticator app, then scan the QR code with the app on the new phone.\n"
            "3. Delete the old phone from the list.\n\n"
            "Lost the old phone already? Call the desk: after verifying your identity a technician issues a "
            "temporary access pass valid for 8 hours."
        ),
    },
    {
        "title": "Request new software",
        "tags": ["software", "licence", "request"],
        "body": (
            "Standard software (browsers, Zoom, 7-Zip, Notepad++) installs from Software Center without a "
            "ticket. Licensed software (Adobe Acrobat Pro, Visio, Tableau) needs your manager's approval: "
            "open a ticket in the Software category naming the product, the business reason and your "
            "manager. Typical turnaround is two working days."
        ),
    },
    {
        "title": "Laptop will not charge or power on",
        "tags": ["laptop", "hardware", "battery"],
        "body": (
            "1. Try another wall socket and check the charger light.\n2. Hold the power button for 30 seconds "
            "with the charger unplugged, then plug in and start.\n3. If you use a dock, connect the charger "
            "directly to the laptop.\n\nIf it still does not start, open a ticket: a technician swaps the "
            "charger or arranges a loan laptop the same day."
        ),
    },
    {
        "title": "Share a mailbox or calendar",
        "tags": ["email", "calendar", "shared-mailbox"],
        "body": (
            "To give a colleague access to your calendar, open Outlook > Calendar > Share and choose the level "
            "(view, edit, delegate). Shared team mailboxes are created by the desk: open a ticket with the "
            "mailbox name, its owner and the members."
        ),
    },
    {
        "title": "Slow Wi-Fi in the office",
        "tags": ["wifi", "network"],
        "body": (
            "Connect to CORP-5G rather than CORP-GUEST. Forget the network and reconnect if you moved floors. "
            "Run a speed test at https://speed.example.com; below 20 Mbit/s at your desk, open a ticket "
            "with the floor, the desk number and the speed test result."
        ),
    },
]

# (requester, subject, description, priority, category, final status, assignee, extra)
TICKETS: list[dict[str, Any]] = [
    {
        "requester": "alice",
        "subject": "VPN says gateway not responding",
        "priority": "high",
        "category": "Network",
        "status": "resolved",
        "assignee": "tom.tech",
        "description": "Working from a hotel; GlobalProtect shows 'Gateway not responding' since this morning.",
        "affected_system": "GlobalProtect VPN",
        "business_impact": "Cannot reach the finance system",
        "steps": [("Asked user to switch to phone hotspot", True)],
        "root_cause": ("NW-001", "Hotel Wi-Fi blocks VPN ports"),
        "kb": "Connect to the VPN with GlobalProtect",
        "comments": [("tom.tech", "Please try connecting through your phone's hotspot.", False)],
    },
    {
        "requester": "bob",
        "subject": "Windows Update error 0x80070005",
        "priority": "medium",
        "category": "Software",
        "status": "in_progress",
        "assignee": "priya.tech",
        "description": "Updates fail every night with error 0x80070005. Restarted twice already.",
        "error_message": "0x80070005",
        "steps_taken": "Restarted twice",
        "comments": [("priya.tech", "Resetting the SoftwareDistribution folder remotely tonight.", True)],
    },
    {
        "requester": "chen",
        "subject": "Printer on 3rd floor offline",
        "priority": "low",
        "category": "Printing",
        "status": "closed",
        "assignee": "tom.tech",
        "description": "PRN-3F-EAST shows offline for everyone on the floor.",
        "steps": [("Power-cycled the printer", False), ("Replaced the network cable", True)],
        "root_cause": ("HW-002", "Damaged network cable"),
        "kb": "Printer shows offline",
    },
    {
        "requester": "dora",
        "subject": "Account locked after password change",
        "priority": "critical",
        "category": "Access & Accounts",
        "status": "new",
        "description": "I changed my password and now I am locked out of everything, presenting to the board at 2pm.",
        "business_impact": "Board presentation blocked",
        "contact_phone": "+44 20 7946 0011",
        "preferred_contact": "phone",
    },
    {
        "requester": "alice",
        "subject": "Outlook keeps prompting for password",
        "priority": "medium",
        "category": "Email",
        "status": "pending",
        "assignee": "priya.tech",
        "description": "Since the password change Outlook asks for the password every few minutes.",
        "comments": [
            (
                "priya.tech",
                "Could you remove the MicrosoftOffice16 entries in Credential Manager and tell me if it helps?",
                False,
            )
        ],
    },
    {
        "requester": "bob",
        "subject": "Need Visio licence",
        "priority": "low",
        "category": "Software",
        "status": "open",
        "assignee": "tom.tech",
        "description": "I need Microsoft Visio for process diagrams. My manager Maria approved.",
    },
    {
        "requester": "chen",
        "subject": "Laptop does not power on",
        "priority": "high",
        "category": "Hardware",
        "status": "resolved",
        "assignee": "tom.tech",
        "description": "Laptop is dead this morning, charger light is off.",
        "steps": [("Swapped the charger", True)],
        "root_cause": ("HW-001", "Faulty charger"),
        "kb": "Laptop will not charge or power on",
    },
    {
        "requester": "dora",
        "subject": "New phone for MFA",
        "priority": "medium",
        "category": "Access & Accounts",
        "status": "closed",
        "assignee": "priya.tech",
        "description": "Got a new phone and the old one is gone, cannot approve sign-ins.",
        "steps": [("Verified identity by video call", True), ("Issued temporary access pass", True)],
        "root_cause": ("AC-003", "MFA device lost before re-registration"),
        "kb": "Set up multi-factor authentication (MFA) on a new phone",
    },
    {
        "requester": "alice",
        "subject": "Slow Wi-Fi at desk 4-12",
        "priority": "low",
        "category": "Network",
        "status": "open",
        "description": "Speed test shows 6 Mbit/s at desk 4-12 on CORP-5G.",
    },
    {
        "requester": "bob",
        "subject": "Shared mailbox for the events team",
        "priority": "medium",
        "category": "Email",
        "status": "in_progress",
        "assignee": "priya.tech",
        "description": "Please create events@example.com with Bob as owner and Chen and Dora as members.",
    },
    {
        "requester": "chen",
        "subject": "Monitor flickers on dock",
        "priority": "low",
        "category": "Hardware",
        "status": "new",
        "description": "External monitor flickers when connected through the USB-C dock.",
    },
    {
        "requester": "dora",
        "subject": "Finance app crashes on export",
        "priority": "high",
        "category": "Software",
        "status": "open",
        "assignee": "tom.tech",
        "description": "Exporting the quarterly report to Excel crashes the finance app.",
        "error_message": "Unhandled exception: System.OutOfMemoryException",
    },
]
