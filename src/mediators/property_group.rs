//! `<propertyGroup>`: several `<property>` mediators run in order.

use super::property::Property;
use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::MessageContext;
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;

#[derive(Debug, Clone)]
pub struct PropertyGroup(pub Vec<Property>);

impl Mediate for PropertyGroup {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut group = Vec::new();
        for child in el.elements() {
            let child_at = super::at(child, at);
            if is_synapse(child, "property") {
                group.extend(Property::compile(c, child, &child_at));
            } else if !is_synapse(child, "description") {
                c.error(
                    &child_at,
                    format!(
                        "<propertyGroup> may only contain <property> elements, found <{}>",
                        child.qname()
                    ),
                );
            }
        }
        Some(PropertyGroup(group))
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        for p in &self.0 {
            p.run(rt, ctx).await?;
        }
        Ok(Flow::Continue)
    }
}
