"""A scoring hook for the tests: the length of the last reply, in characters."""


def reply_characters(conversations):
    return [float(len(messages[-1]["content"])) for messages in conversations]
