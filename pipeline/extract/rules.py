"""Tips and quotes from interview transcripts, by hand-written linguistic rules.

A *tip* is actionable advice to the listener ("Talk to customers every week.").
A *quote* is a self-contained, memorable statement about the work or the role
("A roadmap is a promise, so we make fewer of them."). Only guests' sentences
are candidates: host lines, unknown speakers and sponsor reads never are.

Everything here is pure: segments in, item dicts out, no database and no I/O.
Each sentence gets a tip score and a quote score from weighted features (see
``TIP_WEIGHTS`` and ``QUOTE_WEIGHTS``); the names of the features that fired
travel with every item so a researcher can see why it was picked. Real speech
leans on context ("And so just make those fast."), so openers, unexplained
pronouns, names, cut-off sentences and story-telling lower a score; the stored
text is never trimmed. The speaker's previous sentence counts too: a command
after "for example" or "I told him", or inside a quotation opened earlier, is part of
a story, and a command is never a quote. A long episode keeps only its best ``max_items(duration)``
tips and as many quotes.
"""
import functools
import math
import re

EXTRACTOR_VERSION = "rules-3"

TIP_THRESHOLD = 0.5
QUOTE_THRESHOLD = 0.55
MAX_MERGED = 3

# ---------------------------------------------------------------- sentences

ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "inc", "ltd", "co", "corp",
    "e.g", "i.e", "cf", "approx", "dept", "est", "fig", "no", "vol", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mt", "ft", "u.s", "u.k", "a.m", "p.m",
    "ph.d", "b.s", "m.s", "m.b.a", "gen", "gov", "sen", "rep", "capt", "lt", "col", "sgt",
}
# after these an abbreviation may still end the sentence ("... in the U.S. The next ...")
SENTENCE_STARTERS = {"the", "i", "we", "it", "this", "that", "they", "he", "she", "you", "so",
                     "and", "but", "a", "an", "my", "our", "there", "if", "when", "what", "how"}
_BOUNDARY = re.compile(r"([.!?\u2026]+)([\"'\u201d\u2019)\]]*)(\s+)(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")


def split_sentences(text):
    """Split text into sentences, keeping each sentence's text verbatim.

    Abbreviations (e.g., Dr., U.S.), initials, decimals and ellipses followed by a
    lower-case word do not end a sentence; closing quotes stay with their sentence.
    """
    text = (text or "").strip()
    out, start = [], 0
    for m in _BOUNDARY.finditer(text):
        end = m.end(2)
        before = text[start:m.start(1)]
        last = re.search(r"([A-Za-z][A-Za-z.]*)$", before)
        if m.group(1) == ".":
            word = last.group(1).lower() if last else ""
            nxt = re.match(r"[\"'\u201c\u2018(\[]?(\w+)", text[m.end():])
            nxt = nxt.group(1).lower() if nxt else ""
            if word in ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
                if word in {"etc"} or (word not in {"e.g", "i.e", "cf", "vs"} and nxt in SENTENCE_STARTERS
                                       and word not in {"dr", "mr", "mrs", "ms", "prof", "st"}):
                    pass  # the abbreviation ends the sentence too
                else:
                    continue
            elif last and len(word) == 1 and last.group(1).isupper() and nxt not in SENTENCE_STARTERS:
                continue  # an initial: "J. Smith"
        sentence = text[start:end].strip()
        if sentence:
            out.append(sentence)
        start = m.end(3)
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


# ---------------------------------------------------------------- lexicons

WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*|\d+(?:[.,]\d+)*%?")
FILLER_START = re.compile(
    r"^(?:(?:(?:yeah|yes|yep|so|well|oh|ah|um+|uh+|okay|ok|honestly|basically|and|but|also|i mean|you know|"
    r"totally|exactly|absolutely|hmm|plus)\b[,:;]?\s*)|"
    r"(?:(?:look|listen|remember|see|right|like|now|first|second|finally|sure|no|then|just|really|one|two|"
    r"three)\s*[,:;]\s*))+", re.I)
INLINE_FILLER = re.compile(r",?\s*\b(?:you know|i mean|um+|uh+|kind of|sort of|like,)\s*,?", re.I)
IMPERATIVE_VERBS = set("""
ask add agree aim allow assume avoid be become begin bring build buy call cancel care celebrate change
check choose commit communicate compare consider cut decide define delegate delete deliver design do
document draw drop embrace expect experiment explain fight figure find fix focus follow forget get give go
grow help hire hold identify ignore include invest invite join keep kill know launch lead learn leave let
listen look make map measure meet move narrow negotiate note obsess optimize optimise own pair pay pick plan
practice practise prepare present prioritize prioritise protect prototype push put question read record
reduce remember remove repeat replace resist respect review rewrite run say schedule see seek sell send
set share ship show shadow simplify sit sketch skip slow solve speak spend stand start stay step stop study
take talk teach tell test think track treat trust try turn understand use validate value volunteer wait
walk watch work write automate apply challenge clarify frame align favor favour prefer default budget
interview over-communicate overcommunicate underpromise block collect copy count create doubt earn hunt
invite judge lower raise save sign split surround tackle celebrate embrace question
""".split())
VERB_BASE = IMPERATIVE_VERBS | set("""argue forgive hear care want need like love hate matter win lose die fail
succeed happen exist depend owe remember own beat end mean feel seem come stick compare rely belong
""".split())
FINITE = set("""is are was were has had does did becomes became taught teaches means meant gets got makes made
takes took tells told shows showed comes came goes went seems seemed feels felt needs wants can will would
should could might must may isn't aren't wasn't weren't doesn't didn't won't wouldn't can't shouldn't that
who which 's""".split())
PRONOUN_START = {"it", "it's", "its", "this", "that", "that's", "they", "they're", "these", "those", "he",
                 "she", "him", "her", "which", "there's", "them", "here's", "here", "their", "his",
                 "theirs"}
FIRST_PERSON = {"i", "i'm", "i've", "i'd", "i'll", "me", "my", "mine", "myself", "we", "we're", "we've",
                "we'd", "we'll", "us", "our", "ours"}
GENERIC_HEADS = set("""a an the every most no good great bad nobody everyone everybody people users customers
engineers teams founders managers companies products startups competitors designers leaders pms product
products sales growth data design research writing hardware software docs nothing everything anyone
not all each any great clear""".split())
DOMAIN = set("""product products customer customers user users team teams engineer engineers engineering
feature features launch launches roadmap roadmaps metric metrics data design designer prototype market
competitor competitors manager managers pm pms job work decision decisions problem problems spec specs
requirement requirements research stakeholder stakeholders sales growth strategy founder founders startup
startups business company build building ship shipping plan plans planning code launch marketing
positioning users leader leaders leadership career process meeting meetings writing document documents
quality experiment experiments platform docs release value price pricing support trust goal goals""".split())
PAST = set("""was were did had went came got made took told said thought knew felt saw found learned
learnt realized realised spent started ended built shipped moved joined left became kept used wanted tried
asked worked studied applied""".split())
NUMBER_WORDS = set("""two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty
fifty sixty hundred thousand million percent""".split())
HEDGES = re.compile(r"\b(?:i think|i guess|i feel like|maybe|kind of|sort of|i don't know|"
                    r"pretty much|a little bit|stuff like that|in some ways|in a way|probably)\b", re.I)
REFERENCE = re.compile(r"\b(?:like i said|as i said|as you said|like you said|you mentioned|i mentioned|"
                       r"earlier|that one|this one|the same thing|the other day|last week|that's right|"
                       r"exactly right|great question|good question)\b", re.I)
SOCIAL = re.compile(r"\b(?:thank you|thanks|having me|happy to be|glad to be|great to be here|excited to|"
                    r"welcome|hello|good to be here|listener|who's listening|podcast|linkedin|twitter|newsletter|subscribe|"
                    r"follow (?:me|us|our)|our work|my book|check (?:\w+ )?out|episode|inaudible|crosstalk)\b", re.I)
SPONSOR_START = re.compile(r"\b(?:brought to you by|sponsored by|our sponsor|today's sponsor|this week's sponsor|"
                           r"supported by|a word from|thanks to our|is presented by)\b", re.I)
SPONSOR_END = re.compile(r"\b(?:[a-z0-9-]+\.(?:com|io|ai|dev|app|co|org|net|fm)\b|dot com|promo code|use code|"
                         r"to get started|free trial|months? free|% off|percent off|sign up)", re.I)
MODAL_TIP = re.compile(
    r"\b(?:you (?:really |just |always |absolutely )?(?:should|must|need to|have to|ought to|'ve got to|'ve got to|"
    r"gotta|'ll want to|will want to|'d better|had better|shouldn't|should never|never want to)|"
    r"you (?:don't|do not) (?:need|have) to|you don't need|make sure|it's worth|it is worth|the key is to|"
    r"the trick is to|my (?:advice|tip|recommendation|rule)|i(?:'d| would)? (?:strongly )?(?:recommend|suggest|"
    r"encourage|advise|urge)|the best thing (?:you|a pm|a product manager) can do|don't be afraid|"
    r"be willing to|(?:pms?|product managers?|founders?|managers?|leaders?|everyone|everybody|new pms?) "
    r"(?:should|must|need to|have to))\b", re.I)
CONDITIONAL = re.compile(r"^(?:if|when|before|after|once|whenever|until|as soon as|in your|on your|"
                         r"for|whatever|wherever|during|in the|at)\b[^,:;]{2,80}[,:;]\s*(.+)$", re.I)
COLON_ADVICE = re.compile(r"\b(?:rule|advice|tip|lesson|point|answer|thing)\b[^:]{0,20}:\s*(.+)$", re.I)
LESSON = re.compile(r"(?:\b(?:i|we)(?:'ve| have)? (?:\w+ )?(?:learn(?:ed|t)|found|realized|realised|discovered|"
                    r"believe|know now)|\blearning|\btaught (?:me|us))(?: that| to)\b(?! the hard way)|"
                    r"^i (?:really )?love \w+ing\b", re.I)
PERSONAL_PRACTICE = re.compile(r"\b(?:i|we)(?: usually| always| often| just| still| also)? (?!was|were|did|had)"
                               r"(?:[a-z]+)\b", re.I)
BEST_I_SEEN = re.compile(r"\bthe (?:best|worst|most \w+) [\w ]{1,30} (?:i|we)(?:'ve| have)(?: ever)? "
                         r"(?:seen|hired|worked with|known|met|had)\b", re.I)
APHORISM = [
    ("contrast_not", re.compile(r"(?:, not |\bnot [^,.]{1,40}, but\b|\bnot only\b|\brather than\b)", re.I)),
    ("comparative", re.compile(r"\b(?:\w+er than|more \w+ than|less \w+ than|faster than|better than|"
                               r"as good as|as \w+ as)\b", re.I)),
    ("superlative", re.compile(r"\bthe (?:best|worst|fastest|hardest|easiest|only|real|most|biggest|first)\b", re.I)),
    ("universal", re.compile(r"\b(?:always|never|every|nobody|no one|everyone|everything|nothing|only)\b", re.I)),
    ("definition", re.compile(r"\b(?:is|are) (?:about|just|really|not|a|an|the|only|part of|how|what|where|why)\b|"
                              r"\b(?:means|beats|becomes)\b", re.I)),
]
ANSWER_FRAME = re.compile(r"^(?:the (?:biggest|main|first|other|key|big|second|last|short|real) "
                          r"(?:thing|one|difference|part|change|answer|reason)|the answer|the reason|"
                          r"the short answer|the way i|the short of it|what's really|what i'm|what we're|all we're|"
                          r"number (?:one|two|three|four|five)|step (?:one|two|three)|part of (?:it|that|this)|"
                          r"the thing (?:is|that|i)|one of the things)\b", re.I)
CONTINUATION = re.compile(r"^(?:it's|it is|they|that's why|that is why|which is why|but|and that|so that's|"
                          r"this is why|and it's)\b", re.I)

# Real speech, unlike written interviews, leans on what came before. These openers and
# pronouns mark a sentence that needs its context, so we score it lower (the text
# stays verbatim; we never cut the opener off the stored item).
OPENER = re.compile(r"^(?:(?:and|so|but|then|or|also|plus|because|well|okay|ok|yeah|yes|yep|no|right|like|"
                    r"look|listen|basically|anyway|now|oh|um+|uh+|i mean|you know|which|again|again,)\b[,:;]?\s*)+",
                    re.I)
ANAPHORA = {"it", "it's", "this", "that's", "those", "these", "they", "they're", "them", "he", "she", "him",
            "her", "there's", "such"}
FRAGMENT_START = {"is", "are", "was", "were", "can", "could", "would", "will", "versus", "than", "which", "whereas",
                  "to", "of", "for", "etcetera", "or", "where", "who", "whether", "as", "with", "being", "kind",
                  "sort", "more", "less"}
NOT_ADVICE = re.compile(r"\b(?:you (?:should|would|need to|have to) (?:always |also |really )?be able to|so (?:that )?you (?:don't |do not )?"
                        r"(?:have|need) to|(?:is|was) that you|it's like you|you (?:have|need) to (?:be careful|"
                        r"understand that)|then you (?:have|need) to)\b", re.I)
# "The first vector is ...", "One is ...": an item in a list whose heading was said before
ENUMERATION = re.compile(r"^(?:the )?(?:first|second|third|fourth|next|last|other|final) (?:\w+ )?(?:is|are|one)\b|"
                         r"^(?:one|two|three|another one) (?:is|of them)\b|^(?:one|two|three|first|second|third)\s*[,:]",
                         re.I)
# Context from the speaker's previous sentence. A command right after "I told him", "imagine"
# or "for example" is usually part of a story ("If you recall back in 2020, that was a huge
# thing. Buy gift cards at the restaurant you like ..."), not advice to the listener.
STORY_CUE = re.compile(r"\b(?:i|he|she|they|we) (?:told|said|asked|was like|were like)\b|"
                       r"\b(?:i remember|remember when|for example|for instance|imagine|if you recall|"
                       r"back in (?:the )?(?:\d|day)|one time)\b", re.I)
# a demonstrative pointing back at something said before: "that energy", "at this point", "those things"
REFERS_BACK = re.compile(r"\b(?:at|by|from|to) (?:this|that) (?:point|stage|time|moment)\b|"
                         r"\b(?:in|of|on|with|about|for|from|beyond|into|by|to|take|taking|have|had|has|all|"
                         r"is|are|was) (?:that|those|these|this|such) (?!is\b|was\b|are\b|were\b|"
                         r"you\b|we\b|i\b|they\b|it\b|the\b|a\b|an\b|if\b|when\b|how\b|what\b|"
                         r"people\b|one\b|ones\b|way\b)[a-z]+", re.I)
ACRONYM = re.compile(r"^[A-Z0-9]{2,}s?$")
# transcripts label voices they could not name "Speaker 3": a sponsor, a producer, never the guest we know
UNNAMED_SPEAKER = re.compile(r"^(?:speaker|spk|unknown|voice|participant)[\s_-]*\d*$", re.I)
MINUTES_PER_ITEM = 5
MIN_PER_KIND = 8

TIP_WEIGHTS = {
    "bias": -2.5, "imperative": 4.0, "negative_imperative": 4.2, "conditional_imperative": 4.0,
    "colon_advice": 3.5, "modal_advice": 3.2, "modal_late": 1.6, "question": -6.0, "social": -3.0, "too_short": -1.0,
    "past_narrative": -1.5, "first_person_subject": -1.5, "let_us": -3.5, "reference": -1.0,
    "domain": 0.3, "too_long": -1.5, "object_me": -2.5, "reported_speech": -1.5,
    "opener": -0.6, "openers": -1.1, "anaphora": -0.5, "first_person_aside": -1.0, "not_advice": -1.5,
    "short": -0.5, "terse": -0.3, "no_topic": -0.3, "proper_nouns": -0.6, "hedge": -0.4, "question_like": -4.0, "trailing_off": -1.0, "cut_off": -2.5,
    "story_context": -2.0, "in_quotation": -3.0,
}
QUOTE_WEIGHTS = {
    "bias": -2.0, "generic_subject": 1.6, "generic_you": 0.8, "framed": 0.4, "present_tense": 0.8,
    "domain": 0.55, "contrast_not": 1.0, "comparative": 0.9, "superlative": 0.6, "universal": 0.7,
    "definition": 0.7, "repetition": 0.8, "lesson": 2.6, "best_seen": 1.0, "personal_practice": -0.8,
    "answer_fragment": -2.0, "pronoun_start": -2.2, "continuation_start": -1.5,
    "first_person": -0.6, "first_person_subject": -1.0, "past_narrative": -3.0, "numbers": -0.4,
    "proper_nouns": -1.2, "filler": -1.2, "hedge": -0.8, "answer_frame": -3.0, "enumeration": -1.6, "reference": -1.8,
    "question": -6.0, "social": -3.0, "too_short": -2.5, "too_long": -1.5, "no_verb": -2.0,
    "far_too_long": -1.5, "third_person": -1.0,
    "opener": -0.6, "anaphora": -0.7, "short": -0.6, "no_topic": -0.3, "proper_subject": -1.6, "fragment": -2.0,
    "let_us": -3.0, "imperative_form": -1.0, "reported_speech": -1.0, "trailing_off": -1.0, "cut_off": -2.5,
    "refers_back": -1.2, "in_quotation": -3.0,
}


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _words(text):
    return [w.lower().replace("\u2019", "'") for w in WORD.findall(text.replace("\u2019", "'"))]


def _strip_fillers(text):
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"').strip(" \"'")
    text = FILLER_START.sub("", text)
    return INLINE_FILLER.sub(" ", text).strip()


def _is_imperative(words):
    """Whether a clause (as lower-case words) opens with a bare verb used as a command."""
    i = 0
    while i < len(words) and words[i] in {"just", "always", "also", "really", "then", "and", "so", "please",
                                          "simply", "first", "now", "actually", "definitely"}:
        i += 1
    if i >= len(words):
        return None
    w = words[i]
    if " ".join(words[i:i + 3]) in IMPERATIVE_IDIOMS or " ".join(words[i:i + 2]) in IMPERATIVE_IDIOMS:
        return None
    if w in {"don't", "never", "do"} and i + 1 < len(words) and (words[i + 1] in IMPERATIVE_VERBS or
                                                              words[i + 1] in {"just", "ever", "be", "let"}):
        return "negative_imperative"
    if w not in IMPERATIVE_VERBS or w == "let":
        return None
    # a noun subject, not a verb: "Launch day is ...", "Design taught me ...", "Research that doesn't ..."
    rest = [x for x in words[i + 1:i + 7] if x not in {"always", "never", "really", "just", "also", "often",
                                                        "usually", "still", "then", "actually", "only"}][:4]
    if w in IMPERATIVE_IDIOM_FIRST and " ".join(words[i:i + 3]) in IMPERATIVE_IDIOMS:
        return None
    for k, nxt in enumerate(rest[:3]):
        if nxt in OBJECT_STARTS:
            return "imperative"
        if nxt in {"that", "who", "which"}:
            after = rest[k + 1] if k + 1 < len(rest) else ""
            return "imperative" if after in OBJECT_STARTS or after in {"you", "i", "we", "people"} else None
        if nxt in FINITE or _is_past(nxt):
            return None
    if len(words) - i < 2 and w not in {"start", "listen", "wait", "ship", "go", "stop", "ask", "write", "learn"}:
        return None  # "Value." is a noun more often than a command
    if len(words) - i <= 3:
        return "imperative"  # "Keep going." "Just start."
    return "imperative"


# figures of speech shaped like commands
IMPERATIVE_IDIOMS = {"don't get me", "don't worry", "don't know", "don't quote", "mind you", "think about it",
                     "look at that", "see you", "take care", "thank you", "let me", "let's say", "go figure",
                     "trust me", "believe me", "say that", "tell me", "imagine that", "get me wrong", "say if", "say you",
                     "say we", "say i", "do you", "do we", "imagine if"}
IMPERATIVE_IDIOM_FIRST = {w.split()[0] for w in IMPERATIVE_IDIOMS}
OBJECT_STARTS = {"a", "an", "the", "your", "my", "our", "their", "it", "them", "him", "her", "to", "on", "in",
                 "with", "for", "about", "up", "out", "what", "who", "how", "why", "more", "less", "every",
                 "one", "some", "any", "this", "those", "these", "yourself", "going", "at", "from", "over",
                 "into", "enough", "early", "often", "like", "each", "all", "no", "down", "back", "quiet",
                 "curious", "humble", "honest", "patient", "clear", "less", "fewer", "something", "someone"}
FRAME = re.compile(r"^(?:if|when|whenever|once|in|with|without|for|as|at|on|after|before|until|unless|"
                   r"between|during|by|from|like|because|since|while)\b[^,;:]{1,80},\s*(.+)$", re.I)
PRONOUN_SUBJECT_PAST = re.compile(r"\b(?:i|we|he|she|they|it|there|my \w+|our \w+)\s+(?:\w+ly\s+|just\s+|then\s+)?"
                                  r"(?:was|were|did|didn't|had|got|\w+ed)\b", re.I)
NOT_PAST = {"need", "indeed", "speed", "feed", "seed", "red", "bed", "embed", "proceed", "succeed", "exceed"}


def _is_past(w):
    return w in PAST or w in {"didn't", "wasn't", "weren't", "hadn't"} or \
        (w.endswith("ed") and len(w) > 4 and w not in NOT_PAST)


def _is_verb(w):
    return w in FINITE or w in VERB_BASE or _is_past(w) or w.endswith("n't") or \
        (w.endswith("s") and (w[:-1] in VERB_BASE or w[:-2] in VERB_BASE)) or w in {"do", "have", "'re", "'m"}


STRONG_PRESENT = {"is", "are", "isn't", "aren't", "'s", "does", "doesn't", "has", "can", "can't", "will", "won't",
                  "do", "don't", "'re", "'m", "am", "should", "must", "shouldn't"}
NOUN_BEFORE = {"a", "an", "the", "every", "most", "my", "our", "your", "their", "his", "her", "its", "this", "that",
               "these", "those", "some", "any", "no", "many", "few", "all", "good", "great", "new", "real", "first",
               "best", "worst", "other", "same", "each", "whose", "of", "for", "with", "to", "in", "on", "about"}
FUNCTION = {"the", "a", "an", "of", "to", "in", "on", "at", "for", "with", "by", "from", "and", "or", "but", "is",
            "are", "was", "were", "be", "been", "it", "that", "this", "what", "how", "when", "where", "who"}


def _tense(words):
    """'past' or 'present' of the main clause, or None.

    Auxiliaries decide first; a bare verb or -s form counts when it does not sit
    right after a determiner (where it is a noun: "the best launches").
    """
    weak = None
    for k in range(1, len(words)):
        w, prev = words[k], words[k - 1]
        if w in {"who", "that", "which"}:
            continue
        if prev.endswith("'ve") or prev in {"have", "has", "had", "been", "be", "being", "was", "were", "is",
                                            "are", "get", "got"}:
            if _is_past(w):
                continue  # a participle
        if _is_past(w) or w in {"was", "were", "had"}:
            # "a requirement you missed is ...": a reduced relative clause, not the main verb
            if prev in {"you", "i", "we", "they", "people"} and k >= 2 and words[k - 2] not in FUNCTION \
                    and not _is_verb(words[k - 2]):
                continue
            return weak or "past"
        if w in STRONG_PRESENT or w.endswith("n't"):
            return weak or "present"
        if weak is None and prev not in NOUN_BEFORE and not prev.endswith("est") and \
                ((w.endswith("s") and (w[:-1] in VERB_BASE or w[:-2] in VERB_BASE)) or
                 (w in VERB_BASE and prev not in {"to"})):
            weak = "present"
    return weak


def _subject_kind(clause_words, clause_text):
    """How the clause opens: 'generic', 'first_person', 'pronoun', 'you', or 'other'."""
    if not clause_words:
        return "other"
    w = clause_words[0]
    if w in FIRST_PERSON:
        return "first_person"
    if w in PRONOUN_START or w.split("'")[0] in PRONOUN_START:
        return "pronoun"
    if w in {"you", "you're", "your", "you've", "you'll"}:
        return "you"
    if w in GENERIC_HEADS:
        return "generic"
    if w.endswith("ing") and w not in {"thing", "nothing", "something", "everything", "morning", "evening"} \
            and not re.match(r"^\w+ing\s*,", clause_text):
        return "generic"  # "Copying a competitor is ..."
    if w.endswith("ly") or w in {"yes", "no", "oh", "okay", "ok", "not", "less", "more", "too", "very", "because",
                                 "since", "between", "close", "as", "in", "on", "at", "with", "without", "for",
                                 "after", "before", "during", "by", "from", "to", "once", "if", "when", "then",
                                 "happy", "glad", "great", "thanks", "sure", "almost", "mostly"}:
        return "other"
    if any(x in {"i", "we"} for x in clause_words[1:6]) and not any(_is_verb(x) for x in clause_words[1:3]):
        return "first_person"  # "Between launches I get to ..."
    # a bare noun phrase followed by a verb: "Hardware has ...", "Competitors show ..."
    if any(_is_verb(x) for x in clause_words[1:4]) and w not in VERB_BASE | {"there", "here", "what", "how", "why"}:
        return "generic"
    return "other"


def _analyse(text, proper_nouns=None, context=None):
    """What the tip and quote rules look at in one sentence (None when it has no words)."""
    context = context or {}
    raw = (text or "").strip()
    core = _strip_fillers(raw)
    words = _words(core)
    all_words = _words(raw)
    n = len(words)
    if not words:
        return None
    low = core.lower()
    question = raw.rstrip(" \"')").endswith("?")
    social = bool(SOCIAL.search(raw))
    reference = bool(REFERENCE.search(raw))
    domain = sum(1 for w in words if w in DOMAIN)
    first = words[0]
    fp_count = sum(1 for w in all_words if w in FIRST_PERSON)
    fp_subject = bool(re.match(r"^(?:i|we|i'm|we're|i've|we've|i'd|we'd|my|our)\b", low))
    narrative = bool(PRONOUN_SUBJECT_PAST.search(core))
    frame = FRAME.match(core)
    clause = frame.group(1) if frame else core
    clause_words = _words(clause)
    tense = _tense(clause_words) if clause_words else None
    opener = OPENER.match(raw.lstrip(" \"'\u201c"))
    openers = len(_words(opener.group(0))) if opener else 0
    proper_nouns = proper_nouns or set()
    names = [w for w in WORD.findall(core)[1:] if w[:1].isupper() and not ACRONYM.match(w) and
             w not in {"I", "I'm", "I've", "I'd", "I'll"}]
    names += [w for w in WORD.findall(core)[:1] if w.lower() in proper_nouns]
    has_topic = bool(topics_for(core))
    return {"context": context, "raw": raw, "core": core, "words": words, "all_words": all_words, "n": n, "low": low, "question": question, "social": social, "reference": reference, "domain": domain, "first": first, "fp_count": fp_count, "fp_subject": fp_subject, "narrative": narrative, "frame": frame, "clause": clause, "clause_words": clause_words, "tense": tense, "openers": openers, "proper_nouns": proper_nouns, "names": names, "has_topic": has_topic}


def _tip_features(f):
    """Tip rules that fire, and the tip probability; records what the quote rules reuse in f."""
    (context, raw, core, words, all_words, n, low, question, social, reference, domain, first, fp_count,
     fp_subject, narrative, tense, openers, names, has_topic) = (
        f["context"], f["raw"], f["core"], f["words"], f["all_words"], f["n"], f["low"], f["question"],
        f["social"], f["reference"], f["domain"], f["first"], f["fp_count"], f["fp_subject"],
        f["narrative"], f["tense"], f["openers"], f["names"], f["has_topic"])
    tip_f = []
    imp = _is_imperative(words)
    if not imp and n > 2 and words[1] in {"yourself", "yourselves"} and words[0] not in FIRST_PERSON | {"you"}:
        imp = "imperative"  # "Immerse yourself, find someone who has the problem ..."
    if imp:
        tip_f.append(imp)
    else:
        m = CONDITIONAL.match(core)
        if m and _is_imperative(_words(m.group(1))):
            tip_f.append("conditional_imperative")
        else:
            m = COLON_ADVICE.search(core)
            if m and _is_imperative(_words(m.group(1))):
                tip_f.append("colon_advice")
    m = MODAL_TIP.search(core)
    if m and not re.search(r"\byou (?:should|need to|have to) (?:have|see|hear)\b", low):
        early = m.start() <= max(12, len(core) * 0.4) or re.search(r"\b(?:but|then|so)\s*$", core[:m.start()])
        tip_f.append("modal_advice" if early else "modal_late")
    if question:
        tip_f.append("question")
    if social:
        tip_f.append("social")
    if n < 3 and "imperative" not in tip_f:
        tip_f.append("too_short")
    if n > 40:
        tip_f.append("too_long")
    if fp_subject and (narrative or tense == "past"):
        tip_f.append("past_narrative")
    elif fp_subject and "modal_advice" not in tip_f:
        tip_f.append("first_person_subject")
    if first in {"let's", "let"}:
        tip_f.append("let_us")
    if imp and any(x in {"me", "us"} for x in words[1:4]):
        tip_f.append("object_me")  # "But make me feel ...": said to someone in a story
    if '"' in raw or "\u201d" in raw:
        tip_f.append("reported_speech")
    if reference:
        tip_f.append("reference")
    if openers:
        tip_f.append("opener" if openers == 1 else "openers")
    if any(w in ANAPHORA for w in words[:5]):
        tip_f.append("anaphora")
    if fp_count and not fp_subject and not re.search(
            r"\b(?:my (?:advice|tip|recommendation|rule)|i(?:'d| would)? (?:strongly )?(?:recommend|suggest|"
            r"encourage|advise|urge|say))\b", low):
        tip_f.append("first_person_aside")  # "Ask about their projects and I try to go deeper."
    if NOT_ADVICE.search(core) and ("modal_advice" in tip_f or "modal_late" in tip_f):
        tip_f.append("not_advice")
    if n < 5:
        tip_f.append("terse" if domain else "short")
    trailing = bool(re.search(r"(?:\.\.\.|\u2026)[\"'\u201d)]*$", raw))
    cut_off = trailing and all_words[-1] in FUNCTION | {"if", "with", "about", "because", "like", "so", "into",
                                                         "your", "my", "our", "their", "you", "we", "i"}
    if trailing:
        tip_f.append("cut_off" if cut_off else "trailing_off")  # "Don't start with..."
    if not has_topic:
        tip_f.append("no_topic")
    if names:
        tip_f.append("proper_nouns")
    if HEDGES.search(raw) or re.match(r"^(?:it's|it is) like\b", core, re.I):
        tip_f.append("hedge")
    if words[0] in {"do", "does", "did", "don't"} and len(words) > 1 and \
            words[1] in {"you", "we", "i", "they", "people", "it", "that"}:
        tip_f.append("question_like")  # "Do you think ..." with the question mark lost
    prev = context.get("prev")
    commanding = bool(imp) or "conditional_imperative" in tip_f
    # only an explicit cue: plain past tense before a command is often the story a lesson comes from
    if prev and commanding and STORY_CUE.search(prev):
        tip_f.append("story_context")
    if context.get("in_quotation"):
        tip_f.append("in_quotation")
    tip_x = sum(TIP_WEIGHTS[f] for f in tip_f) + TIP_WEIGHTS["bias"] + TIP_WEIGHTS["domain"] * min(domain, 3)
    tip_p = _sigmoid(tip_x)
    f.update(imp=imp, trailing=trailing, cut_off=cut_off, commanding=commanding)
    return tip_f, tip_p


def _quote_features(f):
    """Quote rules that fire, and the quote probability (after _tip_features)."""
    (context, raw, core, words, all_words, n, low, question, social, reference, domain, first, fp_count,
     fp_subject, narrative, frame, clause, clause_words, tense, openers, proper_nouns, has_topic, imp,
     trailing, cut_off) = (
        f["context"], f["raw"], f["core"], f["words"], f["all_words"], f["n"], f["low"], f["question"],
        f["social"], f["reference"], f["domain"], f["first"], f["fp_count"], f["fp_subject"],
        f["narrative"], f["frame"], f["clause"], f["clause_words"], f["tense"], f["openers"],
        f["proper_nouns"], f["has_topic"], f["imp"], f["trailing"], f["cut_off"])
    quote_f = []
    raw_first = all_words[0] if all_words else ""
    subject = _subject_kind(clause_words, clause)
    if raw_first.split("'")[0] in PRONOUN_START or (subject == "pronoun" and not frame):
        quote_f.append("pronoun_start")
    elif re.match(r"^(?:and|but|so|because|or|then|also)\b", raw, re.I):
        quote_f.append("continuation_start")
    if subject == "generic":
        quote_f.append("generic_subject")
    elif subject == "you" and not re.search(r"\byou (?:said|mentioned|asked|know)\b", low):
        quote_f.append("generic_you")
    if frame and subject in {"generic", "you"}:
        quote_f.append("framed")
    lesson = LESSON.search(core)
    if lesson:
        quote_f.append("lesson")
        inner = core[lesson.end():]
        if "generic_subject" not in quote_f and _subject_kind(_words(inner), inner) == "generic":
            quote_f.append("generic_subject")
    if tense == "present":
        quote_f.append("present_tense")
    elif (tense == "past" or narrative) and "lesson" not in quote_f:
        quote_f.append("past_narrative")
    for name, pattern in APHORISM:
        if pattern.search(core):
            quote_f.append(name)
    content = [w for w in words if len(w) > 3 and w not in {"that", "with", "than", "they", "them", "what",
                                                            "when", "this", "your", "have", "from", "just"}]
    if len(content) != len(set(content)):
        quote_f.append("repetition")
    if fp_count:
        quote_f.append("first_person")
    if BEST_I_SEEN.search(core):
        quote_f.append("best_seen")
        if "past_narrative" in quote_f:
            quote_f.remove("past_narrative")
    if fp_subject and "lesson" not in quote_f:
        quote_f.append("first_person_subject")
    if "lesson" not in quote_f and "best_seen" not in quote_f and tense == "present" and \
            re.search(r"\b(?:i|we) (?:usually |always |often |just |still |also |then )?(?!was|were|had|did)"
                      r"[a-z]+(?<!ed)\b", low):
        quote_f.append("personal_practice")
    if first in {"because", "since"}:
        quote_f.append("answer_fragment")
    if re.search(r"\d", core) or any(w in NUMBER_WORDS for w in words):
        quote_f.append("numbers")
    proper = [w for w in WORD.findall(core)[1:] if w[:1].isupper() and w not in {"I", "PM", "PMs", "AI", "CEO",
                                                                                   "I'm", "I've", "I'd", "API"}]
    if proper:
        quote_f.append("proper_nouns")
    if re.search(r"\b(?:yeah|um+|uh+|you know|i mean|like,|ha)\b", raw, re.I):
        quote_f.append("filler")
    if HEDGES.search(raw):
        quote_f.append("hedge")
    if ANSWER_FRAME.match(core):
        quote_f.append("answer_frame")
    elif ENUMERATION.match(raw) or ENUMERATION.match(core):
        quote_f.append("enumeration")
    if reference:
        quote_f.append("reference")
    if question:
        quote_f.append("question")
    if social:
        quote_f.append("social")
    if n < 4:
        quote_f.append("too_short")
    if n > 30:
        quote_f.append("too_long")
    if n > 40:
        quote_f.append("far_too_long")
    if re.search(r"\b(?:he|she|his|him|her|hers|himself|herself)\b", low):
        quote_f.append("third_person")
    if openers and "continuation_start" not in quote_f and "pronoun_start" not in quote_f:
        quote_f.append("opener")
    if "pronoun_start" not in quote_f and any(w in ANAPHORA for w in words[1:5]):
        quote_f.append("anaphora")
    if 4 <= n < 7:
        quote_f.append("short")
    if not has_topic:
        quote_f.append("no_topic")
    if clause_words and clause_words[0] in proper_nouns:
        quote_f.append("proper_subject")  # "Shopify has an incredibly strong product culture."
    if raw_first in FRAGMENT_START and not frame:
        quote_f.append("fragment")  # "Can be different depending on ..."
    if first in {"let's", "let"}:
        quote_f.append("let_us")
    if imp:
        quote_f.append("imperative_form")
    if trailing:
        quote_f.append("cut_off" if cut_off else "trailing_off")
    if re.search(r"\w[.,!?]?[\"\u201d]\s|[:,]\s*[\"\u201c]", raw):
        quote_f.append("reported_speech")  # somebody else's words, or a line from a story
    head = _words(re.split(r"[,;:]", clause, maxsplit=1)[0])
    if not any(_is_verb(w) for w in head[1:]) and not any(_is_verb(w) for w in clause_words[1:]) or \
            (not frame and len(head) < n and not any(_is_verb(w) for w in head[1:]) and subject != "generic"):
        quote_f.append("no_verb")
    if REFERS_BACK.search(core):
        quote_f.append("refers_back")
    if context.get("in_quotation"):
        quote_f.append("in_quotation")
    quote_x = QUOTE_WEIGHTS["bias"] + sum(QUOTE_WEIGHTS[f] for f in quote_f) + \
        QUOTE_WEIGHTS["domain"] * min(domain, 3) + QUOTE_WEIGHTS["first_person"] * (min(fp_count, 3) - 1) * bool(fp_count)
    if domain:
        quote_f.append("domain")
    quote_p = _sigmoid(quote_x)
    return quote_f, quote_p


def rule_scores(text, proper_nouns=None, context=None):
    """Both rule scores of one sentence: {"tip", "quote", "tip_features", "quote_features", "commanding"}."""
    f = _analyse(text, proper_nouns, context)
    if f is None:
        return {"tip": 0.0, "quote": 0.0, "tip_features": [], "quote_features": [], "commanding": False}
    tip_f, tip_p = _tip_features(f)
    quote_f, quote_p = _quote_features(f)
    return {"tip": tip_p, "quote": quote_p, "tip_features": tip_f, "quote_features": quote_f,
            "commanding": f["commanding"]}


def classify_sentence(text, proper_nouns=None, context=None):
    """Classify one sentence as a tip, a quote or neither.

    proper_nouns: optional lower-case words known to be names in this episode (see
    ``episode_proper_nouns``); a statement about a named company or person is rarely
    quotable outside its episode. Returns {"kind", "score" (0..1), "features"};
    features name the rules that fired. context: optional {"prev": the same speaker's
    previous sentence or None, "in_quotation": whether the sentence sits inside a
    quotation opened earlier}, as ``extract_items`` passes it.
    """
    r = rule_scores(text, proper_nouns, context)
    tip_p, quote_p, tip_f, quote_f, commanding = (r["tip"], r["quote"], r["tip_features"],
                                                  r["quote_features"], r["commanding"])
    if not tip_f and not quote_f and not tip_p:
        return {"kind": "none", "score": 0.0, "features": []}
    if tip_p >= TIP_THRESHOLD and tip_p >= quote_p - 0.2:
        return {"kind": "tip", "score": round(tip_p, 3), "features": ["tip:" + f for f in tip_f]}
    if quote_p >= QUOTE_THRESHOLD and not commanding:
        return {"kind": "quote", "score": round(quote_p, 3), "features": ["quote:" + f for f in quote_f]}
    best = max(tip_p, quote_p)
    return {"kind": "none", "score": round(best, 3),
            "features": ["tip:" + f for f in tip_f] + ["quote:" + f for f in quote_f]}


# ---------------------------------------------------------------- topics

TOPICS = {
    "customers": "customer user client buyer interview feedback survey persona pain complain support ticket "
                 "empathy listen audience people|talk to|user research|customer research",
    "business and metrics": "metric data revenue growth kpi pricing price funnel conversion retention activation "
                            "churn business profit cost money number measure analytics sql experiment dashboard "
                            "okr roi pay|a/b test|success metric",
    "roadmap and requirements": "roadmap requirement spec prd prioritize prioritise priority backlog scope "
                                "deadline estimate sprint trade-off tradeoff theme request date|feature request|"
                                "definition of done|say no|user story",
    "launches and marketing": "launch ship release marketing positioning announcement press campaign messaging "
                              "headline brand sales webinar changelog adoption|go-to-market|product marketing",
    "competitive analysis": "competitor competition competitive rival incumbent differentiate differentiation "
                            "alternative market|market share",
    "stakeholder communication": "stakeholder communicate communication align alignment update status meeting email "
                                 "writing document doc memo presentation slide executive ceo board expectation "
                                 "conflict negotiate write|buy-in|cross-functional|decision log",
    "engineering and technical skills": "engineer engineering technical code coding api sql architecture developer "
                                        "backend frontend system bug deploy infrastructure model eval prompt "
                                        "platform debug|computer science|data science|technical debt",
    "design and prototyping": "design designer prototype mock mockup sketch wireframe figma ux ui usability "
                              "flow screen whiteboard napkin|user experience|fake door",
    "career and getting into product": "career job resume portfolio mentor degree promotion switch transition "
                                       "junior apm associate skill background|get into|break into|"
                                       "first ninety days|case study|first year|first month",
    "leadership": "lead leader leadership manage culture coach delegate vision strategy hire hiring judgment "
                  "influence ownership empower team|people manager",
}


@functools.lru_cache(maxsize=65536)
def _stem(word):
    word = word.lower().strip("'")
    for suffix in ("ations", "ation", "ings", "ing", "ers", "er", "ies", "es", "ed", "s", "ly", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


_TOPIC_INDEX = {}
for _topic, _spec in TOPICS.items():
    _single, *_phrases = _spec.split("|")
    _TOPIC_INDEX[_topic] = ({_stem(w) for w in _single.split()}, [p.strip() for p in _phrases])


def topics_for(text):
    """Topic tags from the taxonomy (see ``TOPICS``), most keyword hits first."""
    low = (text or "").lower().replace("\u2019", "'")
    stems = [_stem(w) for w in _words(low)]
    hits = []
    for topic, (single, phrases) in _TOPIC_INDEX.items():
        count = sum(1 for s in stems if s in single) + sum(1 for p in phrases if p in low)
        if count:
            hits.append((-count, list(TOPICS).index(topic), topic))
    return [t for _, _, t in sorted(hits)]


# ---------------------------------------------------------------- items

def _sentences_of(segment):
    """(sentence, start, end) with times estimated by character position in the segment."""
    text = segment.get("text") or ""
    sentences = split_sentences(text)
    start, end = segment.get("start"), segment.get("end")
    out, pos = [], 0
    total = max(1, len(text))
    for s in sentences:
        i = text.find(s, pos)
        i = pos if i < 0 else i
        j = i + len(s)
        pos = j
        if start is not None and end is not None:
            t0 = start + (end - start) * i / total
            t1 = start + (end - start) * j / total
            out.append((s, round(t0, 3), round(t1, 3)))
        else:
            out.append((s, start, end))
    return out


def _continues(first, second):
    """Whether `second` continues the quote in `first` (so they form one item)."""
    a, b = _words(_strip_fillers(first)), _words(second)
    if not b:
        return False
    if CONTINUATION.match(second.strip()) and _is_imperative(b) is None:
        return True
    # parallel sentences: "The product manager owns ... The program manager owns ..."
    if len(a) <= 16 and len(b) <= 16 and len(set(a[:4]) & set(b[:4])) >= 2:
        return True
    return False


def episode_proper_nouns(sentences):
    """Lower-case words that this episode only ever writes capitalised inside a sentence.

    Transcripts capitalise names ("Shopify", "Netflix") but not ordinary words, so a
    word seen capitalised mid-sentence and never in lower case is a name. Acronyms
    (PM, SaaS-style all-caps words) are jargon more often than names, so they are left out.
    """
    capital, lower = set(), set()
    for sentence in sentences:
        for k, w in enumerate(WORD.findall(sentence.replace("\u2019", "'"))):
            if not w[:1].isalpha():
                continue
            if w[:1].islower():
                lower.add(w.lower())
            elif k and not ACRONYM.match(w) and w not in {"I", "I'm", "I've", "I'd", "I'll"}:
                capital.add(w.lower())
    return {w.split("'")[0] for w in capital - lower}


def max_items(duration, minutes_per_item=MINUTES_PER_ITEM):
    """How many tips (and, separately, quotes) we keep from an episode of `duration` seconds.

    About one per five minutes (the rules; the model keeps more, see
    extract.MODEL_MINUTES_PER_ITEM), and never fewer than ``MIN_PER_KIND``: a
    short interview keeps all it has, a ninety-minute conversation its best eighteen.
    None (duration unknown) means no cap.
    """
    if duration is None:
        return None
    return max(MIN_PER_KIND, int(math.ceil(duration / 60.0 / minutes_per_item)))


def _duration(segments):
    times = [t for seg in segments for t in (seg.get("start"), seg.get("end")) if t is not None]
    return max(times) - min(times) if times else None


def mark_sponsor_reads(rows):
    """Set row["ad"] on sentence rows of a sponsor read: from an opening phrase to the
    call to action, within one speaker's run."""
    in_ad = 0
    for i, row in enumerate(rows):
        if i and rows[i - 1]["speaker"] != row["speaker"]:
            in_ad = 0
        if SPONSOR_START.search(row["text"]):
            in_ad = 12
        row["ad"] = bool(in_ad) or bool(SPONSOR_END.search(row["text"]) and
                                        re.search(r"\b(?:go to|visit|head to|check out|try|at)\b", row["text"], re.I))
        if in_ad:
            in_ad -= 1
            if SPONSOR_END.search(row["text"]):
                in_ad = 0


def extract_items(segments, hosts, cap=True):
    """Tips and quotes said by guests in a time-ordered list of segments.

    segments: dicts with id, start, end, text, speaker. hosts: speaker names whose
    lines are never candidates (nor are lines with no speaker). cap: keep only the
    best-scored ``max_items(duration)`` tips and as many quotes (an int sets the
    number; False keeps everything). Returns item dicts in time order: kind, text,
    speaker, start, end, segment_ids, score, features, topics.
    """
    hosts = {h.strip().lower() for h in (hosts or ()) if h}
    rows = []  # one per sentence: speaker, text, start, end, segment id, verdict
    for seg in segments:
        speaker = seg.get("speaker")
        for s, t0, t1 in _sentences_of(seg):
            rows.append({"speaker": speaker, "text": s, "start": t0, "end": t1, "segment_id": seg.get("id")})

    mark_sponsor_reads(rows)
    names = episode_proper_nouns(row["text"] for row in rows)
    open_quote = False  # inside a quotation the speaker opened in an earlier sentence of this turn
    for i, row in enumerate(rows):
        speaker = row["speaker"]
        same = i > 0 and rows[i - 1]["speaker"] == speaker
        if not same:
            open_quote = False
        context = {"prev": rows[i - 1]["text"] if same else None, "in_quotation": open_quote}
        marks = row["text"].count('"') + row["text"].count("\u201c") + row["text"].count("\u201d")
        if marks % 2:
            open_quote = not open_quote
        candidate = bool(speaker) and str(speaker).strip().lower() not in hosts and not row["ad"] and \
            not UNNAMED_SPEAKER.match(str(speaker).strip())
        row["verdict"] = classify_sentence(row["text"], names, context) if candidate else None

    items, seen, bags, i = [], set(), [], 0
    while i < len(rows):
        row = rows[i]
        verdict = row["verdict"]
        if not verdict or verdict["kind"] == "none":
            i += 1
            continue
        group = [row]
        if verdict["kind"] == "quote":
            j = i + 1
            while j < len(rows) and len(group) < MAX_MERGED and rows[j]["verdict"] and \
                    rows[j]["speaker"] == row["speaker"] and rows[j]["verdict"]["kind"] != "tip" and \
                    _continues(group[-1]["text"], rows[j]["text"]):
                group.append(rows[j])
                j += 1
        text = " ".join(r["text"] for r in group)
        i += len(group)
        key = re.sub(r"\W+", " ", text.lower()).strip()
        bag = frozenset(key.split())
        # speakers repeat themselves ("There should be no debates ..." twice): keep the first
        if key in seen or any(len(bag & other) >= 0.8 * max(len(bag), len(other)) for other in bags):
            continue
        seen.add(key)
        bags.append(bag)
        features = list(verdict["features"])
        if len(group) > 1:
            features.append("quote:merged_%d" % len(group))
        ids = []
        for r in group:
            if r["segment_id"] not in ids:
                ids.append(r["segment_id"])
        items.append({"kind": verdict["kind"], "text": text, "speaker": row["speaker"],
                      "start": group[0]["start"], "end": group[-1]["end"], "segment_ids": ids,
                      "score": verdict["score"], "features": features, "topics": topics_for(text)})
    limit = max_items(_duration(segments)) if cap is True else (cap or None)
    if limit:
        keep = set()
        for kind in ("tip", "quote"):
            ranked = sorted((k for k, item in enumerate(items) if item["kind"] == kind),
                            key=lambda k: (-items[k]["score"], k))
            keep.update(ranked[:limit])
        items = [item for k, item in enumerate(items) if k in keep]
    return items
