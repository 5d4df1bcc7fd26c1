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
    /// The latest inventory, for events without a campaign (the platform's zone).
    latest: Option<Arc<Inventory>>,
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
    fn messages(&self, event: &Event<'_>) -> Vec<NewMessage> {
        let inventory = campaign_of(&event.what)
            .and_then(|c| self.inventories.iter().find(|(id, _)| *id == c.id))
            .map(|(_, inv)| &**inv)
            .or(self.latest.as_deref());
        Messages { site: &self.site, inventory, webhooks: &self.webhooks }.messages(event)
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
        let s = self.shared().await?;
        let latest = match self.store.inventory_version().await? {
            Some(_) => Some(self.inventory(None).await?.1),
            None => None,
        };
        Ok(Teller { site: s.site.clone(), webhooks: s.webhooks.clone(), inventories: Vec::new(), latest })
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

    /// Tells the delivery worker that messages may be waiting.
    pub fn wake_delivery(&self) {
        self.wake.notify_one();
    }
}

/// 32 random bytes from the operating system, as hex: the installation's secret when it
/// has none yet (the store keeps the first one it is given).
fn random_secret() -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
