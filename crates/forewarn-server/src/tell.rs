//! Who is told what: the service's [`Notifier`], handed to every store write that tells
//! people. It knows the site (name, links, who mail comes from, the secret that signs
//! links), the webhooks, and for a campaign the inventory its published plan was made from
//! (contacts, machines, zones); rendering is `forewarn_notify`'s. The delivery worker is
//! woken after each such write.

use std::sync::Arc;

use forewarn_model::Inventory;
use forewarn_notify::{Inventories, Messages, Rendering, Site};
use forewarn_store::{Event, Notifier, StoredCampaign, Told, What};

use crate::App;
use crate::error::{ApiError, ApiResult};

/// The notifier of one write.
#[derive(Debug)]
pub struct Teller {
    site: Arc<Site>,
    webhooks: Arc<Vec<String>>,
    /// Each campaign's inventory (the one its plan was made from), with its version.
    inventories: Vec<(String, i64, Arc<Inventory>)>,
    /// For a publication: what it tells besides the slots.
    publication: Option<Publication>,
    /// The latest inventory, for events without a campaign (the platform's zone).
    latest: Option<(i64, Arc<Inventory>)>,
}

/// What a publication of a plan version tells besides its slots ([`forewarn_notify::Publication`]).
#[derive(Debug, Default)]
struct Publication {
    /// The inventory of the version told before, when it differs from the new one's.
    previous: Option<(i64, Arc<Inventory>)>,
    unscheduled: Vec<(String, String)>,
    told_unscheduled: Vec<String>,
    parsed: forewarn_notify::Parsed,
}

impl Teller {
    /// Adds the campaign of another teller (reminders cover every published campaign).
    pub fn add_campaign(&mut self, id: &str, other: Teller) {
        self.inventories.extend(other.inventories.into_iter().filter(|(c, _, _)| c == id));
    }
}

/// The campaign an event is about, if any.
fn campaign_of<'a>(what: &What<'a>) -> Option<&'a StoredCampaign> {
    match *what {
        What::CampaignPublished { campaign, .. }
        | What::SlotsChanged { campaign, .. }
        | What::CampaignStateChanged { campaign, .. }
        | What::Reminder { campaign, .. }
        | What::SlotsStarted { campaign, .. }
        | What::SlotsFinished { campaign, .. } => Some(campaign),
        What::PostCreated { .. }
        | What::PostUpdated { .. }
        | What::PostCorrected { .. }
        | What::SubscriptionRequested { .. } => None,
    }
}

impl Teller {
    /// The notifier of an event about `campaign` (or none).
    fn messages(&self, campaign: Option<&StoredCampaign>) -> Messages<'_> {
        let inventory = campaign
            .and_then(|c| self.inventories.iter().find(|(id, _, _)| *id == c.id))
            .map(|(_, v, inv)| (*v, &**inv))
            .or(self.latest.as_ref().map(|(v, inv)| (*v, &**inv)));
        let publication = self.publication.as_ref().map_or_else(Default::default, |p| forewarn_notify::Publication {
            previous: p.previous.as_ref().map(|(v, inv)| (*v, &**inv)),
            unscheduled: &p.unscheduled,
            told_unscheduled: &p.told_unscheduled,
            parsed: Some(&p.parsed),
        });
        Messages { site: &self.site, inventory, webhooks: &self.webhooks, publication }
    }
}

impl Notifier for Teller {
    fn tell(&self, event: &Event<'_>) -> Result<Told, String> {
        self.messages(campaign_of(&event.what)).tell(event)
    }

    fn tell_ahead(
        &self,
        seq: i64,
        at: jiff::Timestamp,
        campaign: &StoredCampaign,
        slots: &[forewarn_store::SlotNotice],
    ) -> Result<Told, String> {
        self.messages(Some(campaign)).tell_ahead(seq, at, campaign, slots)
    }
}

/// What every notifier of this service shares, made once.
#[derive(Debug)]
pub(crate) struct Shared {
    site: Arc<Site>,
    webhooks: Arc<Vec<String>>,
}

impl App {
    async fn shared(&self) -> ApiResult<&Shared> {
        self.tell
            .get_or_try_init(|| async {
                let candidate = random_secret().map_err(ApiError::internal)?;
                let secret = self.store.secret(&candidate).await?;
                let c = &self.config;
                let site = Site {
                    name: c.site_name.clone(),
                    base_url: c.base_url.clone(),
                    from_name: c.mail_from.0.clone(),
                    from_address: c.mail_from.1.clone(),
                    secret: secret.into_bytes(),
                    confirm_lifetime: jiff::SignedDuration::from_hours(7 * 24),
                };
                let webhooks = c.webhooks.iter().map(|w| w.url.clone()).collect();
                Ok(Shared { site: Arc::new(site), webhooks: Arc::new(webhooks) })
            })
            .await
    }

    /// The site as mail sees it (links, the signing secret).
    pub async fn mail_site(&self) -> ApiResult<Arc<Site>> {
        Ok(self.shared().await?.site.clone())
    }

    /// The notifier for a write about posts or subscribers (no campaign).
    pub async fn teller(&self) -> ApiResult<Teller> {
        self.tellers.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let s = self.shared().await?;
        let latest = match self.store.inventory_version().await? {
            Some(_) => Some(self.inventory(None).await?),
            None => None,
        };
        Ok(Teller {
            site: s.site.clone(),
            webhooks: s.webhooks.clone(),
            inventories: Vec::new(),
            publication: None,
            latest,
        })
    }

    /// The notifier for a write about `campaign`, whose contacts are those of the inventory
    /// its plan version `plan` (the published one when `None`) was made from.
    pub async fn campaign_teller(&self, campaign: &StoredCampaign, plan: Option<i64>) -> ApiResult<Teller> {
        let mut teller = self.teller().await?;
        let version = match plan.or(campaign.published_plan) {
            Some(v) => self.store.plan(&campaign.id, Some(v)).await?.map(|p| p.inventory_version),
            None => None,
        };
        let (version, inv) = self.inventory(Some(version.unwrap_or(campaign.inventory_version))).await?;
        teller.inventories.push((campaign.id.clone(), version, inv));
        Ok(teller)
    }

    /// The notifier for publishing a plan of `campaign` (made from inventory version
    /// `inventory_version`, without a slot for `unscheduled`; first, or instead of the
    /// version published now): besides the slots, contacts are told of their machines
    /// without a slot (those new since the version told before), and targets removed from
    /// the inventory since are found in the inventory of the version told before.
    pub async fn publication_teller(
        &self,
        campaign: &StoredCampaign,
        unscheduled: Vec<(String, String)>,
        inventory_version: i64,
    ) -> ApiResult<Teller> {
        let mut teller = self.teller().await?;
        let (_, inv) = self.inventory(Some(inventory_version)).await?;
        teller.inventories.push((campaign.id.clone(), inventory_version, inv));
        let mut publication = Publication { unscheduled, ..Publication::default() };
        if let Some(told) = match campaign.published_plan {
            Some(p) => self.store.plan(&campaign.id, Some(p)).await?,
            None => None,
        } {
            let (version, json) = (told.inventory_version, told.json);
            let before = crate::actions::blocking(move || unscheduled_of(&json)).await?;
            publication.told_unscheduled = before.into_iter().map(|(t, _)| t).collect();
            if version != inventory_version {
                publication.previous = Some(self.inventory(Some(version)).await?);
            }
        }
        teller.publication = Some(publication);
        Ok(teller)
    }

    /// Tells the delivery worker that messages may be waiting.
    pub fn wake_delivery(&self) {
        self.wake.notify_one();
    }
}

/// A notifier that keeps a copy of what another one tells: what a rehearsed write
/// ([`forewarn_store::Store::rehearsal`]) would have sent, each event with its time.
pub struct Recording<'a> {
    pub inner: &'a dyn Notifier,
    pub seen: std::sync::Mutex<Vec<(jiff::Timestamp, Told)>>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a dyn Notifier) -> Recording<'a> {
        Recording { inner, seen: std::sync::Mutex::new(Vec::new()) }
    }

    pub fn take(self) -> Vec<(jiff::Timestamp, Told)> {
        self.seen.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for Recording<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording").finish_non_exhaustive()
    }
}

impl Notifier for Recording<'_> {
    fn tell(&self, event: &Event<'_>) -> Result<Told, String> {
        let told = self.inner.tell(event)?;
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).push((event.at, told.clone()));
        Ok(told)
    }
}

/// A message as it would go out (a rehearsal's), or as it went out (the outbox's).
#[derive(Clone, Debug)]
pub struct Shown {
    pub key: String,
    pub channel: forewarn_store::Channel,
    pub recipient: String,
    pub subject: String,
    pub cause: String,
    pub payload: String,
}

impl App {
    /// The inventories an event's context names, parsed (kept by [`App::inventory`]).
    async fn inventories_of(
        &self,
        rendering: &Rendering,
    ) -> ApiResult<(Option<Arc<Inventory>>, Option<Arc<Inventory>>)> {
        let (current, previous) = rendering.inventories();
        let current = match current {
            Some(v) => Some(self.inventory(Some(v)).await?.1),
            None => None,
        };
        let previous = match previous {
            Some(v) => Some(self.inventory(Some(v)).await?.1),
            None => None,
        };
        Ok((current, previous))
    }

    /// The messages of rehearsed events, each rendered as it would go out.
    pub async fn shown(&self, told: &[(jiff::Timestamp, Told)]) -> ApiResult<Vec<Shown>> {
        let site = self.mail_site().await?;
        let mut shown = Vec::new();
        for (at, t) in told {
            let rendering = Rendering::parse(&t.context).map_err(ApiError::internal)?;
            let (current, previous) = self.inventories_of(&rendering).await?;
            for m in &t.messages {
                let invs = Inventories { current: current.as_deref(), previous: previous.as_deref() };
                let payload = forewarn_notify::render_new(&site, invs, *at, t, m).map_err(ApiError::internal)?;
                shown.push(Shown {
                    key: m.key.clone(),
                    channel: m.channel,
                    recipient: m.recipient.clone(),
                    subject: m.subject.clone(),
                    cause: m.cause.clone(),
                    payload,
                });
            }
        }
        Ok(shown)
    }

    /// Message `id` with its whole text (`payload`), rendered if it was written as an intent.
    pub async fn message(&self, id: i64) -> ApiResult<Option<forewarn_store::Message>> {
        let Some(mut m) = self.store.message(id).await? else { return Ok(None) };
        m.payload = self.payload(&m).await?;
        Ok(Some(m))
    }

    /// A stored message's whole text as it goes out: written whole, or rendered from its
    /// event's rows (as delivery renders it).
    pub async fn payload(&self, m: &forewarn_store::Message) -> ApiResult<String> {
        let Some(intent) = &m.intent else { return Ok(m.payload.clone()) };
        let site = self.mail_site().await?;
        let rendering = Rendering::parse(&intent.context).map_err(ApiError::internal)?;
        let (current, previous) = self.inventories_of(&rendering).await?;
        let invs = Inventories { current: current.as_deref(), previous: previous.as_deref() };
        rendering
            .render(&site, invs, &m.key, intent.at, intent.part.as_deref(), &intent.data)
            .map_err(ApiError::internal)
    }
}

/// What delivery reads to render messages: the service's site and its parsed inventories.
pub(crate) struct AppLibrary(pub Arc<App>);

impl forewarn_notify::deliver::Library for AppLibrary {
    fn site(&self) -> forewarn_notify::deliver::BoxFuture<'_, Result<Arc<Site>, String>> {
        Box::pin(async move { self.0.mail_site().await.map_err(|e| e.message) })
    }

    fn inventory(&self, version: i64) -> forewarn_notify::deliver::BoxFuture<'_, Result<Arc<Inventory>, String>> {
        Box::pin(async move { self.0.inventory(Some(version)).await.map(|(_, inv)| inv).map_err(|e| e.message) })
    }
}

/// The targets of a stored plan file without a slot, with their reasons (its slots are
/// skipped, not kept).
fn unscheduled_of(json: &str) -> ApiResult<Vec<(String, String)>> {
    #[derive(serde::Deserialize)]
    struct Unscheduled<'a> {
        #[serde(default, borrow)]
        unscheduled: Vec<forewarn_planner::UnscheduledEntry<'a>>,
    }
    let file: Unscheduled<'_> = serde_json::from_str(json).map_err(ApiError::internal)?;
    Ok(unscheduled_of_entries(&file.unscheduled))
}

/// [`unscheduled_of`] for a plan file's entries read already.
pub(crate) fn unscheduled_of_entries(entries: &[forewarn_planner::UnscheduledEntry<'_>]) -> Vec<(String, String)> {
    entries.iter().filter_map(|u| Some((u.target()?.to_owned(), u.reason.to_string()))).collect()
}

/// 32 random bytes from the operating system, as hex: the installation's secret when it
/// has none yet (the store keeps the first one it is given).
fn random_secret() -> Result<String, getrandom::Error> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf)?;
    Ok(hex::encode(buf))
}
