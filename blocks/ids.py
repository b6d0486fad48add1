"""Every Slack callback_id, action_id and block_id the app uses, shared by blocks and handlers."""

COMMAND = "/ticket"

# Views and shortcuts (callback_id)
EDIT_VIEW = "ticket_edit"
PICK_VIEW = "ticket_pick"
ENTER_VIEW = "ticket_enter"
MESSAGE_SHORTCUT = "update_ticket"

# Card and message actions (action_id)
EDIT_BUTTON = "ticket_edit_open"
OPEN_BUTTON = "ticket_open_url"
STATUS_SELECT = "ticket_status_select"
ASSIGN_ME = "ticket_assign_me"
SHARE = "ticket_share"
SHOW_CARD = "ticket_show_card"
RETRY = "ticket_retry"
PREVIEW_APPLY = "ticket_preview_apply"
UNDO = "ticket_undo"
PREVIEW_CANCEL = "ticket_preview_cancel"
BULK_RETRY = "ticket_bulk_retry"
BULK_UNDO = "ticket_bulk_undo"
LIST_PAGE = "ticket_list_page"  # Next page / Previous page of a /ticket list answer
LIST_UPDATE_ALL = "ticket_list_update_all"  # "Update all N": the list's tickets to a bulk update
LIST_UPDATE_VIEW = "ticket_list_update_view"
LIST_UPDATE_FIELDS = "ticket_list_update_fields"
SYNC_THREAD = "ticket_sync_thread"
SYNC_THREAD_MENU = "ticket_sync_thread_menu"  # the same, as an overflow entry where space is short
UNSYNC_THREAD = "ticket_unsync_thread"
CARD_ACTIONS_PREFIX = "card:"  # + the signed ticket value, so a select knows its ticket


def card_actions_block(value: str) -> str | None:
    block_id = f"{CARD_ACTIONS_PREFIX}{value}"
    return block_id if len(block_id) <= 255 else None


def card_value_of_block(block_id: str) -> str | None:
    return block_id[len(CARD_ACTIONS_PREFIX) :] if block_id.startswith(CARD_ACTIONS_PREFIX) else None


# Edit form: one input block per field; the block_id names the field, the action_id is fixed.
FIELD_BLOCK_PREFIX = "field_"
FIELD_ACTION = "value"
FORM_FIELDS = (
    "name",
    "status",
    "priority",
    "assignees",
    "tags",
    "due_date",
    "team",
    "ticket_type",
    "workspace",
    "collections",
    "parent_ticket",
    "completed_at",
    "description",
)


def field_block(field: str) -> str:
    return f"{FIELD_BLOCK_PREFIX}{field}"


def field_of_block(block_id: str) -> str | None:
    if block_id.startswith(FIELD_BLOCK_PREFIX):
        field = block_id[len(FIELD_BLOCK_PREFIX) :]
        return field if field in FORM_FIELDS else None
    return None


# Custom fields in the edit form: the block_id carries the input's kind and the field's name,
# so a submission is read from the view alone.
CUSTOM_BLOCK_PREFIX = "cf:"


def custom_block(kind: str, name: str) -> str | None:
    block_id = f"{CUSTOM_BLOCK_PREFIX}{kind}:{name}"
    return block_id if len(block_id) <= 255 else None


def custom_of_block(block_id: str) -> tuple[str, str] | None:
    """(kind, field name) of a custom field's block, or None."""
    if not block_id.startswith(CUSTOM_BLOCK_PREFIX):
        return None
    kind, _, name = block_id[len(CUSTOM_BLOCK_PREFIX) :].partition(":")
    return (kind, name) if kind and name else None


# Ticket pickers (message shortcut)
PICK_BLOCK = "pick_ticket"
ENTER_BLOCK = "enter_ticket"
ALL_BLOCK = "update_all"  # the picker's "update all N" changes
ALL_ACTION = "update_all_changes"
PICK_ACTION = "ticket"
CONNECT_TRACKER = "connect_tracker"  # a URL button: Slack opens the page and tells the app too
RECONNECT_TRACKER = "reconnect_tracker"
OPEN_SETTINGS = "open_workspace_settings"  # the Home tab's Settings button (admins)
SETTINGS_VIEW = "workspace_settings"
SETTINGS_CHANNELS = "settings_channels_"  # + the tool's position in the modal
SETTINGS_DEFAULT = "settings_default"
SETTINGS_USERS = "settings_users"
SETTINGS_USERGROUPS = "settings_usergroups"
SETTINGS_READ_ONLY = "settings_read_only"
SETTINGS_LOCKED = "settings_locked"
SETTINGS_CHANNEL_CARD = "settings_channel_card"
SETTINGS_REACTIONS = "settings_reactions"
SETTINGS_GUESTS = "settings_guests"
SETTINGS_CREATE = "settings_create"
SETTINGS_IDENTITY = "settings_identity"
SETTINGS_WORKFLOW_STEPS = "settings_workflow_steps"
SETTINGS_VALUE = "value"  # every settings input's action_id
OWN_ACCOUNT = "own_account"  # the Home tab's "Connect your own … account" / Disconnect
NOTIFY_TOGGLE = "toggle_notifications"  # the Home tab's personal notifications button
SUBSCRIBE_VIEW = "subscribe"  # `/ticket subscribe` alone: the form
SUB_FILTER = "subscribe_filter"
SUB_EVENTS = "subscribe_events"
SUB_THREAD = "subscribe_thread"
SUB_DIGEST = "subscribe_digest"
SUB_CHANNEL = "subscribe_channel"  # the form opened from the Home tab: which channel
SUB_REMOVE = "subscription_remove"  # the Home tab's Remove of one subscription
SUB_ADD = "subscription_add"  # the Home tab's "Subscribe a channel"
COMMENT_SHORTCUT = "add_comment"  # the message shortcut "Add as comment"
COMMENT_VIEW = "add_comment_form"
COMMENT_TICKET = "comment_ticket"
COMMENT_TEXT = "comment_text"
CREATE_VIEW = "ticket_create"  # the create form
CREATE_SHORTCUT = "create_ticket"  # the message shortcut "Create ticket"
CREATE_FORM_BUTTON = "ticket_create_form"  # "Open the form" under a create that lacked fields
UNDO_CREATE = "ticket_undo_create"  # Undo on a new ticket's card: the ticket deleted
HOME_CREATE = "home_create_ticket"  # the Home tab's "Create a ticket": the form
