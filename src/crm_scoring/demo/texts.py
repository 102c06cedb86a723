"""Templated customer texts (ticket descriptions, survey comments) with tone and PII variety.

The tone is the latent label the NLP step should recover (angry / disappointed / worried /
neutral / satisfied); some texts carry an e-mail address or phone number to exercise redaction,
and some contain commas, quotes and line breaks to exercise CSV quoting.
"""

from __future__ import annotations

import numpy as np

OPENERS = (
    (
        "This is absolutely unacceptable!",
        "I am furious.",
        "Worst service I have ever had.",
        "I've had enough of this, seriously.",
        "You people are a joke!!",
        "Unbelievable, AGAIN.",
    ),
    (
        "I'm really disappointed.",
        "Honestly, I expected better from you.",
        "Quite let down, to be honest.",
        "Not the experience I was hoping for.",
        "Sadly this keeps happening.",
    ),
    (
        "I'm worried about this.",
        "I'm a bit anxious, please help.",
        "Not sure what is going on and it concerns me.",
        "Is my account safe?",
        "I'm concerned, nobody has explained anything.",
    ),
    ("Hello,", "Hi team,", "Good morning,", "Hi there,", "Dear support,"),
    (
        "Thanks for the quick help last time.",
        "Generally very happy with you, thank you.",
        "Love the app, just one thing:",
        "Great service so far!",
    ),
)

ISSUES = {
    "product_quality": (
        "The {item} I received is broken and the packaging was crushed.",
        "The {item} stopped working after {n} days.",
        'What arrived is not what the listing said, the "premium" {item} feels cheap.',
    ),
    "service_delay": (
        "I have been waiting {n} days for a reply to my request.",
        "Your agent promised a call back {n} days ago, nothing happened.",
        'My case has been "in progress" for {n} days.',
    ),
    "logistics_delay": (
        "My order {order} is {n} days late and tracking has not moved.",
        "The parcel for order {order} was marked delivered, but I never got it.",
        "Delivery was rescheduled {n} times, I still have nothing.",
    ),
    "technical": ("The app keeps crashing when I open {module}.", "{module} shows an error every time."),
    "billing": (
        "I was charged {amount} CNY twice for order {order}.",
        "There is a charge of {amount} CNY on my card that I did not make.",
        "The discount was not applied, I paid {amount} CNY instead of less.",
    ),
    "after_sales": (
        "My return for order {order} was requested {n} days ago and still no refund.",
        "The repair under warranty is taking forever, {n} days now.",
        "Nobody picked up the item I returned, order {order}.",
    ),
    "account_anomaly": (
        "Someone tried to log in to my account from another city.",
        "My account was frozen without any explanation.",
        "My points balance dropped to zero overnight.",
    ),
    "data_security": (
        "I received an email with my personal details that I never gave you.",
        "I think my data was leaked, I'm getting spam since I registered.",
        "Please confirm whether my address and phone were exposed.",
    ),
    "other": (
        "The staff in the store were rude to me.",
        "Your website is very hard to use.",
        "I don't understand the new membership rules.",
    ),
    "inquiry": (
        "How do I change the delivery address for order {order}?",
        "Can you tell me when the {item} is back in stock?",
        "What are the opening hours of your store in the city centre?",
        "How many points do I have and when do they expire?",
    ),
    "request": (
        "Please update my phone number on the account.",
        "Please cancel order {order}.",
        "I'd like an invoice for order {order}, thanks.",
        "Please merge my two accounts.",
    ),
    "feedback": (
        "It would be nice to have a dark mode in the app.",
        "The new search in the app is much better, well done.",
        "Please add more payment options.",
    ),
    "incident": (
        "The {module} page shows an error for me.",
        "Push notifications stopped arriving.",
        "The app logged me out several times today.",
    ),
}

CLOSERS = (
    (
        "If this is not fixed today I will cancel my membership and close my account.",
        "I want a full refund NOW, otherwise I'm going to file a complaint with the regulator.",
        "I will tell all my friends to stay away from you.",
        "Fix it or I'm leaving for good.",
    ),
    (
        "Please sort this out, I'm considering switching to another shop.",
        "I hope you can do better, I used to recommend you.",
        "Please fix this properly this time.",
    ),
    (
        "Please let me know what is happening.",
        "Can someone call me back and explain?",
        "Please confirm my money is safe.",
    ),
    ("Thanks.", "Kind regards.", "Thank you in advance.", "Best,"),
    ("Thank you, keep up the good work!", "Thanks again, really appreciate it.", "Cheers!"),
)

ZH = (
    (
        "太过分了！我要投诉，再不处理我就注销账户。",
        "服务太差了，我要投诉到底！",
        "账户被冻结了，马上给我解决！",
    ),
    ("很失望，问题一直没有解决。", "本来很信任你们，这次太让人失望了。"),
    ("有点担心，我的账户安全吗？", "订单一直没有消息，请尽快告诉我情况。"),
    ("你好，想咨询一下订单的问题。", "您好，请帮我查一下物流。"),
    ("谢谢你们的帮助，服务很好！", "很满意，谢谢！"),
)

# technical complaints say what broke, consistent with the ticket's module
TECHNICAL = {
    "login": (
        "I cannot log in since yesterday, it says 'session expired'.",
        "The verification code never arrives, so I can't log in.",
    ),
    "payment": (
        "My card payment fails every time, but the money is still reserved.",
        "Payment page times out after I confirm.",
    ),
    "messaging": (
        "Messages are not being delivered, the page just spins.",
        "I don't get any replies in the chat, it is stuck on 'sending'.",
    ),
    "personal_centre": (
        "I can't update my address in the personal centre.",
        "My profile page shows somebody else's name.",
    ),
    "checkout": ("Checkout fails with an error at the payment step.", "The cart empties itself at checkout."),
    "search": ("Search returns nothing, even for products on the home page.",),
}

ITEMS = ("headphones", "kettle", "jacket", "phone case", "coffee machine", "backpack", "smart watch", "lamp")
MODULE_WORDS = {
    "login": "the login page",
    "payment": "payments",
    "messaging": "messages",
    "personal_centre": "my personal centre",
    "checkout": "checkout",
    "delivery": "delivery tracking",
    "orders": "my orders",
    "search": "search",
}

COMMENT_LOW = (
    "Still not resolved.",
    "Nobody called me back.",
    "Took far too long, and the answer was useless.",
    "I'm thinking about leaving.",
    "The compensation does not cover my loss.",
    "Agent was polite, but the problem is still there.",
)
COMMENT_MID = ("It was OK.", "Fine in the end, but slow.", "Could be faster.")
COMMENT_HIGH = (
    "Great support, thanks!",
    "Quick and friendly.",
    "Problem solved, very happy.",
    "Thank you, the agent was excellent.",
)


def ticket_texts(
    rng: np.random.Generator,
    tone: np.ndarray,
    topic: list[str],
    module: list[str],
    zh: np.ndarray,
    email: np.ndarray,
    phone: np.ndarray,
    number: np.ndarray,
) -> np.ndarray:
    """One text per ticket; `topic` is the complaint type or, for other tickets, the ticket type."""
    m = len(tone)
    r = rng.integers(0, 1 << 30, size=(m, 6)).tolist()
    pii = rng.random(m)
    nums = rng.integers(2, 15, m).tolist()
    amounts = np.round(rng.lognormal(5.2, 0.8, m), 2).tolist()
    out = np.empty(m, dtype=object)
    for i, (t, tp, mod, z, rr) in enumerate(zip(tone.tolist(), topic, module, zh.tolist(), r, strict=True)):
        if z and rr[5] % 10 < 4:
            out[i] = ZH[t][rr[0] % len(ZH[t])]
            continue
        opener = OPENERS[t][rr[0] % len(OPENERS[t])]
        issues = ISSUES[tp] + TECHNICAL.get(mod, ()) if tp == "technical" else ISSUES[tp]
        issue = issues[rr[1] % len(issues)].format(
            item=ITEMS[rr[2] % len(ITEMS)],
            n=nums[i],
            module=MODULE_WORDS.get(mod, mod),
            order=f"OR{number[i] % 97:02d}-{rr[3] % 100000:05d}",
            amount=f"{amounts[i]:.2f}",
        )
        closer = CLOSERS[t][rr[4] % len(CLOSERS[t])]
        sep = "\n" if rr[5] % 7 == 0 else " "
        text = f"{opener} {issue}{sep}{closer}"
        if pii[i] < 0.07 and email[i]:
            text += f" You can reach me at {email[i]}."
        elif pii[i] < 0.13 and phone[i]:
            text += f" Call me on {phone[i]}, please."
        out[i] = text
    return out


def survey_comments(
    rng: np.random.Generator,
    score: np.ndarray,
    scale_max: np.ndarray,
    has_comment: np.ndarray,
    email: np.ndarray,
) -> np.ndarray:
    """Short free-text comments for answered surveys; a few leave contact details."""
    m = len(score)
    pick = rng.integers(0, 1 << 30, m).tolist()
    pii = rng.random(m).tolist()
    out = np.full(m, "", dtype=object)
    for i in np.flatnonzero(has_comment).tolist():
        rel = score[i] / scale_max[i]
        bank = COMMENT_LOW if rel < 0.6 else (COMMENT_MID if rel < 0.8 else COMMENT_HIGH)
        text = bank[pick[i] % len(bank)]
        if pii[i] < 0.05 and email[i]:
            text += f" Email me: {email[i]}"
        out[i] = text
    return out
