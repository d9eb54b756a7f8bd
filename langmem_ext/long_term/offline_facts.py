"""First-person fact patterns of the offline extractor (no model): what a sentence states.

:func:`sentence_facts` reads one sentence a person wrote about themselves and returns the
facts it states, in the third person, each with the single-valued *attribute* it sets
(where one lives, where one works, one's diet, "my dog is called X") or ``None`` for
facts that accumulate (likes, plans, possessions). :func:`attribute_of` reads a stored
fact back into its attribute, so a new value can close the old one. :func:`sentence_rules`
finds the user's behaviour rules, also inside a longer sentence ("..., so please never
suggest recipes with meat").

Example:
    >>> sentence_facts("I am vegetarian, so please never suggest recipes with meat or fish.", "User")
    [('User is vegetarian', 'diet')]
    >>> sentence_rules("I am vegetarian, so please never suggest recipes with meat or fish.")
    ['Never suggest recipes with meat or fish']
    >>> sentence_facts("Actually I live in Porto now, not Lisbon.", "User")
    [('User lives in Porto', 'lives in')]
    >>> sentence_facts("We renamed our dog Rocket.", "User")
    [("User's dog is called Rocket", "'s dog is called")]
    >>> attribute_of("User has a dog called Bruno", "User"), attribute_of("User is vegan", "User")
    ("'s dog is called", 'diet')
    >>> attribute_of("User's brother is vegan", "User") is None  # a property, not a name
    True
    >>> sentence_facts("I love it!", "Ana")  # nothing worth keeping
    []
"""

from __future__ import annotations

import re

__all__ = ["DIETS", "attribute_keys", "attribute_of", "sentence_facts", "sentence_rules", "third_person"]

_OBJ = r"(.{2,80}?)"
_END = r"(?:[,;.!?]|\s+(?:and|but|because|since|so|though|although|which)\s|$)"
_END_LIKE = r"(?:[,;.!?]|\s+(?:but|because|since|so|though|although|which)\s|$)"
DIETS = ("vegetarian", "vegan", "pescatarian", "flexitarian", "omnivore", "carnivore", "keto", "gluten-free")
_DIET = "|".join(re.escape(d) for d in DIETS)
_PETS = r"dog|cat|puppy|kitten|rabbit|bunny|parrot|bird|hamster|horse|turtle|fish|snake|guinea pig"

# (pattern, template, attribute key or None); {s} is the subject, {0}.. the groups
_FACTS: list[tuple[re.Pattern[str], str, str | None]] = [
    (re.compile(rf"\bi(?:'ve| have)? (?:just |recently |finally |now )?moved (?:from \w+(?: \w+)? )?to {_OBJ}{_END}", re.I),
     "{s} lives in {0}", "lives in"),
    (re.compile(rf"\bi(?: now| currently)? (?:live|am living|'m living|am based|'m based) in {_OBJ}{_END}", re.I),
     "{s} lives in {0}", "lives in"),
    (re.compile(rf"\bi(?: now| currently)? work (?:at|for) {_OBJ}{_END}", re.I), "{s} works at {0}", "works at"),
    (re.compile(rf"\bi(?: just| recently)? (?:started|got|took|began|accepted) (?:a |an )?(?:new )?(?:job|position|role) (?:at|with) {_OBJ}{_END}", re.I),
     "{s} works at {0}", "works at"),
    (re.compile(rf"\bi(?: now| currently)? work as (?:a |an )?{_OBJ}{_END}", re.I), "{s} works as {0}", "works as"),
    (re.compile(rf"\b(?:i am|i'm) from {_OBJ}{_END}", re.I), "{s} is from {0}", "is from"),
    (re.compile(rf"\b(?:call me|my name is|i am called|i'm called) {_OBJ}{_END}", re.I), "{s} is named {0}", "is named"),
    (re.compile(rf"\b(?:i am|i'm|i have been|i've been)(?: now| also| strictly| fully| mostly)? (?:a |an )?({_DIET})\b", re.I),
     "{s} is {0}", "diet"),
    (re.compile(rf"\bi (?:became|went|turned|have become|'ve become|have gone|'ve gone|switched to being|am going) (?:a |an )?(?:fully )?({_DIET})\b", re.I),
     "{s} is {0}", "diet"),
    (re.compile(r"\bi (?:eat|am eating|'m eating) meat (?:again|now)\b", re.I), "{s} eats meat", "diet"),
    (re.compile(rf"\b(?:we|i) (?:have )?renamed (?:our|my|the) ({_PETS}) (?:to )?{_OBJ}{_END}", re.I),
     "{s}'s {0} is called {1}", "'s {0} is"),
    (re.compile(rf"\bi(?: have|'ve got| have got| adopted| got) (?:a |an )(?:\w+ )?({_PETS}) (?:called|named) {_OBJ}{_END}", re.I),
     "{s} has a {0} called {1}", "'s {0} is"),
    (re.compile(rf"\bmy ((?:\w+ ){{0,2}}\w+?)(?:'s name)? (?:is|are) (?:called |named )?{_OBJ}{_END}", re.I),
     "{s}'s {0} is {1}", "'s {0} is"),
    (re.compile(rf"\b(?:i am|i'm) allergic to {_OBJ}{_END}", re.I), "{s} is allergic to {0}", None),
    (re.compile(rf"\bi (?:really |absolutely |also )?(love|like|enjoy|prefer|hate|dislike|can't stand) {_OBJ}{_END_LIKE}", re.I),
     "{s} {0}s {1}", None),
    (re.compile(rf"\bi(?: have|'ve got| have got) (a|an|two|three|\d+) {_OBJ}{_END}", re.I), "{s} has {0} {1}", None),
    (re.compile(rf"\bi(?:'ll| will| am going to|'m going to| plan to| intend to| promised to) {_OBJ}(?:[.!?]|$)", re.I),
     "{s} plans to {0}", None),
]
_RULE = re.compile(
    r"^(?:(?:ok|okay|and|also|no|actually|so|but)[, ]+)*"
    r"((?:please )?(?:don't|do not|never|always|stop|from now on|in (?:the )?future|next time)\b.*"
    r"|please (?:answer|reply|respond|write|use|keep|be|call|speak|talk|avoid|include|add)\b.*)",
    re.I,
)
_CLAUSE = re.compile(r"[,;:]\s+|\s+-\s+")
_TAIL = re.compile(r"(?:\s*,?\s+(?:now|these days|at the moment|for now|anymore|again|instead|already|too|as well|"
                   r"not \w+(?: \w+)?|last (?:week|month|year|weekend|summer|winter|spring|autumn|fall)|yesterday|"
                   r"today|recently|this (?:week|month|year)|a (?:few|couple of) (?:days|weeks|months|years) ago|"
                   r"\w+ (?:days|weeks|months|years) ago))+$", re.I)
_VAGUE = {"it", "that", "this", "them", "those", "these", "one", "him", "her", "there", "here", "so", "too", "ok",
          "okay", "well", "you", "yours", "all", "everything", "something", "anything", "lots", "a lot", "that one",
          "to", "be", "do", "go", "the same", "mine", "what", "which", "how"}
_ADJ = re.compile(r"^(?:new|current|present|latest)\s+", re.I)
_FIRST = {"my": "their", "me": "them", "i": "they", "myself": "themselves", "mine": "theirs", "i'm": "they're",
          "i've": "they've", "i'll": "they'll", "i'd": "they'd", "we": "they", "our": "their", "us": "them",
          "am": "are"}


def third_person(text: str) -> str:
    """First-person words of a fact's object turned around ("do my best" -> "do their best").

    >>> third_person("do my best to help me")
    'do their best to help them'
    """
    return re.sub(r"\b(?:my|me|i|myself|mine|i'm|i've|i'll|i'd|we|our|us|am)\b",
                  lambda m: _FIRST[m.group(0).lower()], text, flags=re.I)


def _clean(obj: str) -> str:
    obj = obj.strip().strip("\"'").rstrip(",;:").strip()
    return _TAIL.sub("", obj).strip().rstrip(",;:")


def _vague(obj: str) -> bool:
    words = re.findall(r"[a-z']+", obj.lower())
    return not words or obj.lower() in _VAGUE or (len(words) <= 2 and words[0] in _VAGUE)


def sentence_facts(sentence: str, subject: str) -> list[tuple[str, str | None]]:
    """The facts one sentence states about its speaker ``subject`` (see the module docstring)."""
    out: list[tuple[str, str | None]] = []
    spans: list[tuple[int, int]] = []
    for pattern, template, key in _FACTS:
        for m in pattern.finditer(sentence):
            if any(a <= m.start() < b for a, b in spans):
                continue  # a more specific pattern already read this part
            groups = [_clean(g) for g in m.groups()]
            if any(not g for g in groups) or (groups and _vague(groups[-1])):
                continue
            if key == "'s {0} is":
                groups[0] = _ADJ.sub("", groups[0])
                if groups[0].lower() in ("name", "names") or re.match(r"^\w+ing\b", groups[-1]):
                    continue  # "my name is" has its own pattern; "my sister is visiting" is no attribute
            groups = [third_person(g) for g in groups]
            if template.startswith("{s} {0}s"):
                verb = {"can't stand": "hate"}.get(groups[0].lower(), groups[0].lower())
                content = f"{subject} {verb[:-1] if verb == 'enjoy' else verb}s {groups[1]}"
                content = content.replace("enjoys", "enjoys").replace("prefers", "prefers")
            else:
                content = template.format(*groups, s=subject)
            if key == "works at" and " as " in groups[0]:
                company, role = groups[0].split(" as ", 1)
                out.append((f"{subject} works at {company}", "works at"))
                content, key = f"{subject} works as {re.sub(r'^(?:a|an) ', '', role)}", "works as"
            attr = attribute_of(content, subject) if key == "'s {0} is" else key
            out.append((content, attr))
            spans.append((m.start(), m.end()))
    return out


def attribute_of(content: str, subject: str) -> str | None:
    """The single-valued attribute a stored fact sets (None for accumulating facts)."""
    rest = content[len(subject):] if content.startswith(subject) else content
    for key in ("lives in", "works at", "works as", "is from", "is named"):
        if rest.startswith(f" {key} "):
            return key
    if re.match(rf"^ (?:is (?:{_DIET})|eats meat)$", rest, re.I):
        return "diet"
    m = re.match(rf"^ has a ({_PETS}) called ", rest, re.I)
    if m:
        return f"'s {m.group(1).lower()} is called"
    m = re.match(r"^'s ((?:\w+ ){0,2}\w+?) is (called )?(.+)$", rest)
    if not m:
        return None
    thing, value = _ADJ.sub("", m.group(1).lower()), m.group(3)
    if m.group(2) or value[:1].isupper():
        return f"'s {thing} is called"  # a name: one at a time
    if thing.startswith(("favourite", "favorite")):
        return f"'s {thing} is"
    return None  # "my brother is vegan": a property, not a value that replaces another


_ATTRIBUTE_KEYS = {
    "lives in": ["home", "where they live", "city"],
    "works at": ["job", "work", "employer"],
    "works as": ["job", "work", "profession"],
    "is from": ["origin", "where they come from"],
    "is named": ["name"],
    "diet": ["diet", "food", "what they eat"],
}


def attribute_keys(attribute: str | None) -> list[str]:
    """Index keys for a fact setting ``attribute``: words a question about it uses.

    >>> attribute_keys("diet"), attribute_keys("'s dog is called")
    (['diet', 'food', 'what they eat'], ['dog', 'name'])
    """
    if attribute is None:
        return []
    if attribute in _ATTRIBUTE_KEYS:
        return list(_ATTRIBUTE_KEYS[attribute])
    m = re.match(r"^'s (.+?) is( called)?$", attribute)
    if not m:
        return []
    return [m.group(1), "name"] if m.group(2) else [m.group(1)]


def sentence_rules(sentence: str) -> list[str]:
    """The behaviour rules in a sentence the user wrote: at its start or after a clause break."""
    rules = []
    for clause in [sentence, *_CLAUSE.split(sentence)[1:]]:
        m = _RULE.match(clause.strip())
        if not m:
            continue
        rule = m.group(1).rstrip(".!").strip()
        if re.match(r"^please (?:don't|do not|never|always|stop)\b", rule, re.I):
            rule = rule[len("please "):]
        rule = rule[0].upper() + rule[1:]
        if rule not in rules:
            rules.append(rule)
        break
    return rules
