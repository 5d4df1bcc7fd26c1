//! What subscribers of the status page are told: each post, update and correction that
//! concerns a component they chose (a post naming no components concerns everyone), with an
//! unsubscribe link; and the request to confirm a subscription.

use forewarn_model::Zone;
use forewarn_model::inventory::Language;
use forewarn_status::{Post, Update};
use forewarn_store::{Subscriber, SubscriptionRequest};
use jiff::Timestamp;

use crate::Site;
use crate::doc::{Block, Doc};
use crate::email::Email;
use crate::links;
use crate::words::{self, pick};

/// Whether a subscriber wants to hear about a post: confirmed, and either the subscriber
/// chose no components, the post names none, or they share one.
pub(crate) fn wants(sub: &Subscriber, post: &Post) -> bool {
    sub.confirmed.is_some()
        && (sub.components.is_empty()
            || post.components.is_empty()
            || post.components.iter().any(|c| sub.components.contains(c)))
}

/// What is new about the post.
#[derive(Clone, Copy, Debug)]
pub(crate) enum News<'a> {
    Created,
    Updated(&'a Update),
    Corrected(&'a str),
}

impl News<'_> {
    pub(crate) fn cause(self, post: &Post) -> String {
        match self {
            News::Created => format!("post {} created", post.id),
            News::Updated(_) => format!("post {} updated", post.id),
            News::Corrected(_) => format!("post {} corrected", post.id),
        }
    }
}

/// The post's window in the site's zone: a span, or "from …", "until …".
fn window(lang: Language, post: &Post, zone: &Zone) -> Option<String> {
    match (post.starts, post.ends) {
        (Some(s), Some(e)) => Some(words::span(lang, s, e, zone)),
        (Some(s), None) => Some(format!("{} {}", pick(lang, "from", "ab"), words::moment(lang, s, zone))),
        (None, Some(e)) => Some(format!("{} {}", pick(lang, "until", "bis"), words::moment(lang, e, zone))),
        (None, None) => None,
    }
}

/// The subject of a subscriber's email about a post.
pub(crate) fn subject(site: &Site, post: &Post, news: News<'_>, lang: Language) -> String {
    match news {
        News::Created => format!("[{}] {}", site.name, post.title),
        News::Updated(_) => format!("[{}] {}: {}", site.name, pick(lang, "Update", "Aktualisierung"), post.title),
        News::Corrected(_) => format!("[{}] {}: {}", site.name, pick(lang, "Correction", "Korrektur"), post.title),
    }
}

/// The email a subscriber gets about a post, written at `at`, its times in `zone` (the
/// platform's).
pub(crate) fn email(site: &Site, zone: &Zone, sub: &Subscriber, post: &Post, news: News<'_>, at: Timestamp) -> Email {
    let lang = words::language(&sub.language);
    let subject = subject(site, post, news, lang);
    let mut doc = Doc::default();
    doc.push(Block::Heading(post.title.clone()));
    let mut facts = vec![(
        pick(lang, "Status", "Stand").to_owned(),
        format!("{}, {}", words::kind(lang, post.kind), words::state(lang, post.state)),
    )];
    if let Some(w) = window(lang, post, zone) {
        facts.push((pick(lang, "When", "Wann").to_owned(), w));
    }
    if !post.components.is_empty() {
        facts.push((pick(lang, "Affects", "Betrifft").to_owned(), post.components.join(", ")));
    }
    match news {
        News::Created => {
            doc.push(Block::Facts(facts));
            if !post.body.trim().is_empty() {
                doc.push(Block::Markdown(post.body.clone()));
            }
        }
        News::Updated(update) => {
            let mut said =
                format!("{} {}:", pick(lang, "Update of", "Aktualisierung vom"), words::moment(lang, update.at, zone));
            if let Some(state) = update.state {
                said = format!(
                    "{} {}",
                    said.trim_end_matches(':'),
                    pick(
                        lang,
                        format!("(now {}):", words::state(lang, state)),
                        format!("(jetzt {}):", words::state(lang, state))
                    )
                );
            }
            doc.para(said);
            if !update.body.trim().is_empty() {
                doc.push(Block::Markdown(update.body.clone()));
            }
            doc.push(Block::Facts(facts));
        }
        News::Corrected(note) => {
            doc.para(pick(
                lang,
                format!("This post was corrected: {}", note.trim()),
                format!("Dieser Beitrag wurde korrigiert: {}", note.trim()),
            ));
            doc.push(Block::Facts(facts));
            if !post.body.trim().is_empty() {
                doc.push(Block::Markdown(post.body.clone()));
            }
        }
    }
    doc.link(pick(lang, "On the status page", "Auf der Statusseite"), site.post_url(post.id));
    let unsubscribe = site.unsubscribe_url(sub.id, at);
    let why = if sub.components.is_empty() {
        pick(
            lang,
            format!("You receive this email because you subscribed to the posts of {}.", site.name),
            format!("Sie erhalten diese E-Mail, weil Sie die Beiträge von {} abonniert haben.", site.name),
        )
    } else {
        let list = sub.components.join(", ");
        pick(
            lang,
            format!("You receive this email because you subscribed to the posts of {} about {list}.", site.name),
            format!("Sie erhalten diese E-Mail, weil Sie die Beiträge von {} zu {list} abonniert haben.", site.name),
        )
    };
    doc.push(Block::Footer {
        text: why,
        link: Some((pick(lang, "Unsubscribe", "Abbestellen").to_owned(), unsubscribe.clone())),
    });
    Email {
        to_name: None,
        to: sub.email.clone(),
        subject,
        lang,
        doc,
        calendars: Vec::new(),
        unsubscribe: Some(unsubscribe),
    }
}

/// In words: the components chosen ("" for every post), " about a, b" / " zu a, b".
fn about(lang: Language, components: &[String]) -> String {
    if components.is_empty() {
        String::new()
    } else {
        let list = components.join(", ");
        pick(lang, format!(" about {list}"), format!(" zu {list}"))
    }
}

/// The request to confirm a subscription, or a change of a confirmed one, with a link that
/// applies this request's choices and expires [`Site::confirm_lifetime`] after `at` (said
/// in `zone`). A change also carries an unsubscribe link, so that whoever holds the address
/// can always get a working one.
pub(crate) fn confirmation(
    site: &Site,
    zone: &Zone,
    sub: &Subscriber,
    request: &SubscriptionRequest,
    at: Timestamp,
) -> Email {
    let lang = words::language(&request.language);
    let expires = at.checked_add(site.confirm_lifetime).unwrap_or(at);
    let token = links::confirm_token(&site.secret, request.id, expires);
    let url = site.url(&format!("/subscribe/confirm?token={token}"));
    let about = about(lang, &request.components);
    let change = sub.confirmed.is_some();
    let mut doc = Doc::default();
    doc.para(pick(lang, "Hello,", "Guten Tag,"));
    if change {
        let now = match about.as_str() {
            "" => pick(lang, "every post".to_owned(), "alle Beiträge".to_owned()),
            _ => pick(lang, format!("the posts{about}"), format!("die Beiträge{about}")),
        };
        let language = pick(lang, "in English", "auf Deutsch");
        doc.para(pick(
            lang,
            format!(
                "this address already receives the posts of the {} status page{}. Someone, hopefully you, asked to \
                 receive {now} instead, {language}. To make this change, follow this link:",
                site.name,
                self::about(lang, &sub.components)
            ),
            format!(
                "diese Adresse erhält bereits die Beiträge der Statusseite von {}{}. Jemand, hoffentlich Sie, möchte \
                 stattdessen {now} erhalten, {language}. Um das zu ändern, folgen Sie diesem Link:",
                site.name,
                self::about(lang, &sub.components)
            ),
        ));
        doc.link(pick(lang, "Change my subscription", "Abonnement ändern"), url);
    } else {
        doc.para(pick(
            lang,
            format!(
                "someone, hopefully you, asked to receive the posts of the {} status page{about} at this address. Please confirm with this link:",
                site.name
            ),
            format!(
                "jemand, hoffentlich Sie, möchte die Beiträge der Statusseite von {}{about} an diese Adresse erhalten. Bitte bestätigen Sie mit diesem Link:",
                site.name
            ),
        ));
        doc.link(pick(lang, "Confirm", "Bestätigen"), url);
    }
    doc.para(pick(
        lang,
        format!(
            "The link works until {}. If you did not ask for this, ignore this email: {}",
            words::moment(lang, expires, zone),
            if change { "nothing changes." } else { "you will get nothing else from us." }
        ),
        format!(
            "Der Link gilt bis {}. Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail einfach: {}",
            words::moment(lang, expires, zone),
            if change { "es ändert sich nichts." } else { "Sie erhalten dann nichts weiter von uns." }
        ),
    ));
    doc.para(format!("{}\n{}", pick(lang, "Kind regards", "Viele Grüße"), site.name));
    let unsubscribe = change.then(|| site.unsubscribe_url(sub.id, at));
    if let Some(url) = &unsubscribe {
        doc.push(Block::Footer {
            text: pick(
                lang,
                format!("To receive no more posts of {}, unsubscribe:", site.name),
                format!("Um keine Beiträge von {} mehr zu erhalten, bestellen Sie sie ab:", site.name),
            ),
            link: Some((pick(lang, "Unsubscribe", "Abbestellen").to_owned(), url.clone())),
        });
    }
    let subject = confirmation_subject(site, sub, request);
    Email { to_name: None, to: sub.email.clone(), subject, lang, doc, calendars: Vec::new(), unsubscribe }
}

/// The subject of the request to confirm a subscription (or a change of one).
pub(crate) fn confirmation_subject(site: &Site, sub: &Subscriber, request: &SubscriptionRequest) -> String {
    let lang = words::language(&request.language);
    match sub.confirmed.is_some() {
        false => pick(
            lang,
            format!("Please confirm your subscription to {}", site.name),
            format!("Bitte bestätigen Sie Ihr Abonnement bei {}", site.name),
        ),
        true => pick(
            lang,
            format!("Please confirm the change of your subscription to {}", site.name),
            format!("Bitte bestätigen Sie die Änderung Ihres Abonnements bei {}", site.name),
        ),
    }
}

/// The cause of a confirmation request, for the outbox.
pub(crate) fn confirmation_cause(request: &SubscriptionRequest) -> String {
    format!("subscription {} requested ({})", request.subscriber, request.id)
}
