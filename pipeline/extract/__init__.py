"""Tips and quotes from interview transcripts."""
from .rules import *  # noqa: F401,F403
from .rules import (EXTRACTOR_VERSION, MIN_PER_KIND, TOPICS, classify_sentence, episode_proper_nouns,  # noqa: F401
                    extract_items, max_items, split_sentences, topics_for)
