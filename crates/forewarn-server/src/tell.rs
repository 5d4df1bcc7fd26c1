//! Who is told what: the service's [`Notifier`], handed to every store write that tells
//! people. It knows the site (name, links, who mail comes from, the secret that signs
//! links), the webhooks, and for a campaign the inventory its published plan was made from
//! (contacts, machines, zones); rendering is `forewarn_notify`'s. The delivery worker is
//! woken after each such write.

use std::sync::Arc;

use forewarn_model::Inventory;
use forewarn_notify::{Messages, Site};
use forewarn_store::{Event, NewMessage, Notifier, StoredCampaign, What};

use crate::App;
use crate::error::{ApiError, ApiResult};

/// The notifier of one write.
#[derive(Debug)]
pub struct Teller {
    site: Arc<Site>,
    webhooks: Arc<Vec<String>>,
    /// Each campaign's inventory (the one its plan was made from).
    inventories: Vec<(String, Arc<Inventory>)>,
    /// For a publication: what it tells besides the slots.
    publication: Option<Publication>,
    /// The latest inventory, for events without a campaign (the platform's zone).
    latest: Option<Arc<Inventory>>,
}

/// What a publication of a plan version tells besides its slots ([`forewarn_notify::Publication`]).
#[derive(Debug, Default)]
struct Publication {
    /// The inventory of the version told before, when it differs from the new one's.
    previous: Option<Arc<Inventory>>,
    unscheduled: Vec<(String, String)>,
    told_unscheduled: Vec<String>,
}

impl Teller {
    /// Adds the campaign of another teller (reminders cover every published campaign).
    pub fn add_campaign(&mut self, id: &str, other: Teller) {
        self.inventories.extend(other.inventories.into_iter().filter(|(c, _)| c == id));
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

impl Notifier for Teller {
    fn messages(&self, event: &Event<'_>) -> Result<Vec<NewMessage>, String> {
        let inventory = campaign_of(&event.what)
            .and_then(|c| self.inventories.iter().find(|(id, _)| *id == c.id))
            .map(|(_, inv)| &**inv)
            .or(self.latest.as_deref());
        let publication = self.publication.as_ref().map_or_else(Default::default, |p| forewarn_notify::Publication {
            previous: p.previous.as_deref(),
            unscheduled: &p.unscheduled,
            told_unscheduled: &p.told_unscheduled,
        });
        Messages { site: &self.site, inventory, webhooks: &self.webhooks, publication }.messages(event)
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
            Some(_) => Some(self.inventory(None).await?.1),
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
        let (_, inv) = self.inventory(Some(version.unwrap_or(campaign.inventory_version))).await?;
        teller.inventories.push((campaign.id.clone(), inv));
        Ok(teller)
    }

    /// The notifier for publishing a plan of `campaign` (`plan_json`, made from inventory
    /// version `inventory_version`; first, or instead of the version published now):
    /// besides the slots, contacts are told of their machines without a slot (those new
    /// since the version told before), and targets removed from the inventory since are
    /// found in the inventory of the version told before.
    pub async fn publication_teller(
        &self,
        campaign: &StoredCampaign,
        plan_json: &str,
        inventory_version: i64,
    ) -> ApiResult<Teller> {
        let mut teller = self.teller().await?;
        let (_, inv) = self.inventory(Some(inventory_version)).await?;
        teller.inventories.push((campaign.id.clone(), inv));
        let json = plan_json.to_owned();
        let unscheduled = crate::actions::blocking(move || unscheduled_of(&json)).await?;
        let mut publication = Publication { unscheduled, ..Publication::default() };
        if let Some(told) = match campaign.published_plan {
            Some(p) => self.store.plan(&campaign.id, Some(p)).await?,
            None => None,
        } {
            let (version, json) = (told.inventory_version, told.json);
            let before = crate::actions::blocking(move || unscheduled_of(&json)).await?;
            publication.told_unscheduled = before.into_iter().map(|(t, _)| t).collect();
            if version != inventory_version {
                publication.previous = Some(self.inventory(Some(version)).await?.1);
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

/// A notifier that keeps a copy of every message another one writes: what a rehearsed write
/// ([`forewarn_store::Store::rehearsal`]) would have sent.
pub struct Recording<'a> {
    pub inner: &'a dyn Notifier,
    pub seen: std::sync::Mutex<Vec<NewMessage>>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a dyn Notifier) -> Recording<'a> {
        Recording { inner, seen: std::sync::Mutex::new(Vec::new()) }
    }

    pub fn take(self) -> Vec<NewMessage> {
        self.seen.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for Recording<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording").finish_non_exhaustive()
    }
}

impl Notifier for Recording<'_> {
    fn messages(&self, event: &Event<'_>) -> Result<Vec<NewMessage>, String> {
        let out = self.inner.messages(event)?;
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).extend(out.iter().cloned());
        Ok(out)
    }
}

/// The targets of a stored plan file without a slot, with their reasons.
fn unscheduled_of(json: &str) -> ApiResult<Vec<(String, String)>> {
    let file: forewarn_planner::PlanFile<'_> = serde_json::from_str(json).map_err(ApiError::internal)?;
    Ok(file.unscheduled.iter().filter_map(|u| Some((u.target()?.to_owned(), u.reason.to_string()))).collect())
}

/// 32 random bytes from the operating system, as hex: the installation's secret when it
/// has none yet (the store keeps the first one it is given).
fn random_secret() -> Result<String, getrandom::Error> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf)?;
    Ok(hex::encode(buf))
}
