"""The quickstart demo project: a support team's base model vs its LoRA fine-tune.

``heldout quickstart`` writes it and evaluates it in seconds. Its numbers tell a story worth
learning to read: the fine-tune wins overall, loses on German tickets, and ties on BLEU while
winning on chrF.
"""

from heldout.demo._project import write_demo_project

__all__ = ["write_demo_project"]
